// sesame mfa enroll | remove and sesame recovery-codes new: the calling
// user's authenticator app and recovery codes, through the flows of
// core/flows/mfa_flows.h (the ones the tests drive too).
//
// MUST rules:
//  - the QR code file writer (sesame_qr_files.h) starts before the config,
//    the store or the key file is opened, and each FILE is checked with it,
//    as the caller, before the password is asked;
//  - a QR code file that cannot be written stops the enrollment before
//    anything is stored, and the files of an enrollment that did not
//    complete are removed;
//  - the new key, its URI, the QR code and the recovery codes go to stdout
//    (the terminal) only, never to a log or stderr, and every copy made
//    here is wiped;
//  - recovery codes that could not be written to stdout are exit 1 with a
//    message on stderr saying so and what to do (they are stored first:
//    the old ones no longer work).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/base/logger.h"
#include "core/base/secret.h"
#include "core/flows/mfa_flows.h"
#include "core/qr/qr_code.h"
#include "core/qr/qr_render.h"
#include "tools/common/exit_codes.h"
#include "tools/sesame/privileges.h"
#include "tools/sesame/sesame_cli.h"
#include "tools/sesame/sesame_env.h"
#include "tools/sesame/sesame_prompter.h"
#include "tools/sesame/sesame_qr_files.h"

namespace sesame::self {
namespace {

struct QrFile {
  QrFormat format;
  std::string path;
};

// The config, the store, the caller's account and the key: all a command
// needs before it asks anything.
Result<std::unique_ptr<ToolEnv>> OpenForMfa(const Invocation& inv, UserRecord* account) {
  Result<std::unique_ptr<ToolEnv>> env = OpenToolEnv(inv.config_path, inv.verbose, *inv.privileges);
  if (!env.ok()) return env.status();
  Result<UserRecord> found = FindAccount(**env, inv.user);
  if (!found.ok()) return found.status();
  *account = std::move(found.value());
  SESAME_RETURN_IF_ERROR((*env)->LoadKey());
  return env;
}

// As core/qr/qr_render.h says (ChooseQrDrawing, the same for every tool).
bool UseHalfBlocks(const Invocation& inv) {
  const char* term = std::getenv("TERM");  // the sanitised one
  return ChooseQrDrawing(isatty(STDOUT_FILENO) != 0, inv.utf8_locale,
                         term != nullptr ? term : "") == QrDrawing::kHalfBlocks;
}

// Most apps use SHA1, 6 digits and 30 s whatever the URI says.
std::string ParametersNote(const Config& c) {
  if (c.totp_algorithm == "SHA1" && c.totp_digits == 6 && c.totp_period == 30) return "";
  return "Note: this host uses " + c.totp_algorithm + " codes of " + std::to_string(c.totp_digits) +
         " digits every " + std::to_string(c.totp_period) +
         " s. Some apps (Google Authenticator among them) make SHA1 codes of 6 digits every 30 s "
         "whatever the QR code says: check that the app shows codes of " +
         std::to_string(c.totp_digits) + " digits.\n";
}

// The ShowOffer of `mfa enroll`: the files first (a failure stops here,
// before the key is shown), then the QR code, the key and the URI.
Status ShowOnTerminal(const Invocation& inv, const Config& config, const std::vector<QrFile>& files,
                      QrFileWriter* writer, Prompter& out, const AuthenticatorOffer& offer,
                      Status* failure) {
  Result<QrCode> qr = EncodeQr(offer.uri);
  if (!qr.ok() && !files.empty()) {
    *failure = Status(Code::kInternal, "cannot make the QR code: " + qr.status().message());
    Fail(*failure);
    return Status(Code::kInternal, "The QR code could not be made");
  }
  for (const QrFile& file : files) {
    Status written = writer->Write(file.format, file.path, qr.value());
    if (!written.ok()) {
      std::fill(qr->modules.begin(), qr->modules.end(), false);
      *failure = Status(Code::kUnavailable, written.message());
      Fail(*failure);
      return Status(Code::kUnavailable, "The QR code file could not be written");
    }
  }

  const bool half_blocks = UseHalfBlocks(inv);
  // For a light background: asked for, or what the terminal's COLORFGBG says.
  const bool invert = inv.qr_invert || inv.light_background;
  if (inv.qr_invert && !half_blocks)
    std::fprintf(stderr,
                 "%s: note: --qr-invert changes only the UTF-8 drawing; the ASCII one (not a "
                 "UTF-8 terminal) draws dark modules as '##', for a light background already\n",
                 kTool);
  std::string drawn;
  if (qr.ok()) {
    drawn = half_blocks ? RenderQrTerminal(qr.value(), invert) : RenderQrAscii(qr.value());
    std::fill(qr->modules.begin(), qr->modules.end(), false);
  } else {
    drawn = "(the QR code cannot be drawn: " + qr.status().message() + ")\n";
  }
  // Room for all of it, so that no copy of the key is left behind when the
  // text grows.
  std::string text;
  text.reserve(drawn.size() + 4096 + 512 * files.size());
  text +=
      "Scan this QR code with your authenticator app (Google Authenticator, FreeOTP, Aegis, "
      "...):\n\n";
  text += drawn;
  WipeMemory(drawn.data(), drawn.size());
  if (half_blocks && !invert)
    text +=
        "(If the app does not see the code on a light background, run again with "
        "--qr-invert.)\n";
  else if (half_blocks && !inv.qr_invert)
    text += "(Drawn for a light background, as COLORFGBG says.)\n";
  text += "\nOr add an account by hand: " + offer.issuer + " (" + offer.account +
          "), time-based, with this key:\n";
  text += "key:  " + offer.key + "\n";
  text += "uri:  " + offer.uri + "\n";
  text += ParametersNote(config);
  if (!files.empty()) {
    text += "\nThe QR code is also in ";
    for (size_t k = 0; k < files.size(); ++k) {
      if (k > 0) text += " and ";
      text += SanitizeForLog(files[k].path, 200);
    }
    text += files.size() == 1
                ? " (only you can read it). Delete it once the app works: it holds your key.\n"
                : " (only you can read them). Delete them once the app works: they hold your "
                  "key.\n";
  }
  out.Info(text);
  WipeMemory(text.data(), text.size());
  return Status::Ok();
}

}  // namespace

int RunMfaEnroll(const Invocation& inv) {
  Status terminal = CheckTerminal("sesame mfa enroll");
  if (!terminal.ok()) return Fail(terminal);
  std::vector<QrFile> files;
  if (!inv.qr_png.empty()) files.push_back(QrFile{QrFormat::kPng, inv.qr_png});
  if (!inv.qr_svg.empty()) files.push_back(QrFile{QrFormat::kSvg, inv.qr_svg});
  std::unique_ptr<QrFileWriter> writer;
  if (!files.empty()) {
    // Before anything secret is in memory.
    Result<std::unique_ptr<QrFileWriter>> started =
        QrFileWriter::Start(inv.privileges->caller_uid(), inv.privileges->caller_gid());
    if (!started.ok()) return Fail(started.status());
    writer = std::move(started.value());
  }

  UserRecord account;
  Result<std::unique_ptr<ToolEnv>> env = OpenForMfa(inv, &account);
  if (!env.ok()) return Fail(env.status());
  for (const QrFile& file : files) {
    Status usable = writer->Check(file.path);
    if (!usable.ok()) return Fail(Status(Code::kInvalidArgument, usable.message()));
  }

  Services services = (*env)->services();
  ToolPrompter tty(*(*env)->logger);
  const RequestInfo request{inv.user, kService, ""};
  const bool replacing = !account.totp_sealed.empty();
  tty.Info(replacing ? "Setting up a new authenticator app for " + inv.user +
                           " (it replaces the one you have once a first code confirms it)."
                     : "Setting up an authenticator app for " + inv.user + ".");
  bool offered = false;
  Status file_failure;
  const Config& config = (*env)->config;
  ShowOffer show = [&](const AuthenticatorOffer& offer) {
    offered = true;
    return ShowOnTerminal(inv, config, files, writer.get(), tty, offer, &file_failure);
  };
  FlowResult result = EnrollAuthenticator(services, tty, request, show);
  if (result.decision == Decision::kSuccess) {
    if (writer != nullptr) {
      Status kept = writer->Keep();
      if (!kept.ok())
        std::fprintf(stderr, "%s: warning: the QR code files may be gone: %s\n", kTool,
                     kept.message().c_str());
    }
    if (!tty.output_error().empty()) {
      return OutputLost(tty.output_error(),
                        "your authenticator app is set up, but your recovery codes were not "
                        "shown; run 'sesame recovery-codes new' with its output to the "
                        "terminal");
    }
    return kExitOk;
  }
  writer.reset();                               // removes the files it wrote
  if (!file_failure.ok()) return kExitFailure;  // said already
  if (result.decision == Decision::kFailure && offered)
    return Fail(Status(Code::kAuthFailed,
                       "the verification codes did not match the new key; nothing was changed"));
  return Refused(result, inv.user, "set up an authenticator app",
                 replacing ? "wrong password or verification code; nothing was changed"
                           : "wrong password; nothing was changed",
                 tty.gave_up());
}

namespace {

// `mfa remove` and `recovery-codes new`: the account must have an
// authenticator, then `flow` asks for the password and a code. A refusal
// before any prompt (core has told the person why) exits kExitNotFound
// without an authenticator, `enrolled_refusal` with one.
// `lost`: what to say when the flow succeeded but its output could not be
// written (exit 1); null when that output does not matter.
int RunEnrolledFlow(const Invocation& inv, const char* command, const char* doing,
                    FlowResult (*flow)(Services&, Prompter&, const RequestInfo&),
                    int enrolled_refusal, const char* lost) {
  Status terminal = CheckTerminal(command);
  if (!terminal.ok()) return Fail(terminal);
  UserRecord account;
  Result<std::unique_ptr<ToolEnv>> env = OpenForMfa(inv, &account);
  if (!env.ok()) return Fail(env.status());
  Services services = (*env)->services();
  ToolPrompter tty(*(*env)->logger);
  const RequestInfo request{inv.user, kService, ""};
  FlowResult result = flow(services, tty, request);
  if (result.decision == Decision::kSuccess && lost != nullptr && !tty.output_error().empty())
    return OutputLost(tty.output_error(), lost);
  if (result.decision == Decision::kFailure && !tty.asked())
    return account.totp_sealed.empty() ? kExitNotFound : enrolled_refusal;
  return Refused(result, inv.user, doing,
                 "wrong password or verification code; nothing was changed", tty.gave_up());
}

}  // namespace

int RunMfaRemove(const Invocation& inv) {
  // With an authenticator, refused before a prompt: MFA is required.
  return RunEnrolledFlow(inv, "sesame mfa remove", "remove your authenticator app",
                         RemoveAuthenticator, kExitPermission, nullptr);
}

int RunRecoveryCodesNew(const Invocation& inv) {
  // Nothing refuses an enrolled account before a prompt.
  // The codes are stored before they are shown (core/flows/mfa_flows.cc):
  // output that fails leaves new codes nobody saw, so the person is told to
  // make new ones again where they can be seen.
  return RunEnrolledFlow(inv, "sesame recovery-codes new", "make new recovery codes",
                         RenewRecoveryCodes, kExitNotFound,
                         "your new recovery codes were made but not shown, and your old ones "
                         "no longer work; run 'sesame recovery-codes new' again with its output "
                         "to the terminal");
}

}  // namespace sesame::self
