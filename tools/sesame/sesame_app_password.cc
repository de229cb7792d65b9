// sesame app-password create NAME | list | revoke NAME|--all: the calling
// user's app passwords, through the flows of core/flows/app_passwords.h.
//
// MUST rules:
//  - create refuses a bad NAME or option, a user who may not make app
//    passwords (app_passwords_for) and one at app_password_max before any
//    prompt, and checks each QR code FILE as the caller before the
//    password is asked; then the password and, where enrolled, a code (a
//    fresh proof, CreateAppPassword);
//  - the QR code file writer (sesame_qr_files.h) starts before the config,
//    the store or the key file is opened; a file that cannot be written
//    means the app password is revoked again (never shown, never usable),
//    and the files of a create that did not complete are removed;
//  - the new app password goes to stdout (the terminal) only: as text, as
//    a QR code, and with --copy as an OSC 52 sequence, only when stdout is
//    a terminal; never to a log or stderr; every copy made here is wiped;
//    one that could not be written to stdout (a full disk, a closed pipe)
//    was never seen: it is revoked again and the command exits 1;
//  - list output that could not be written is exit 1, never 0;
//  - list and user-facing output never show a secret or a digest;
//  - revoke needs no proof (it only takes access away); it runs
//    on_revoke_command, root's configured program, as root
//    (core/base/run_command.h: no shell, bounded time) while the ids are
//    raised: the caller can neither signal nor trace it.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/base64.h"
#include "core/base/clock.h"
#include "core/base/input_check.h"
#include "core/base/secret.h"
#include "core/crypto/app_password.h"
#include "core/flows/app_passwords.h"
#include "core/qr/qr_code.h"
#include "core/qr/qr_render.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"
#include "tools/sesame/privileges.h"
#include "tools/sesame/sesame_cli.h"
#include "tools/sesame/sesame_env.h"
#include "tools/sesame/sesame_prompter.h"
#include "tools/sesame/sesame_qr_files.h"

namespace sesame::self {
namespace {

constexpr const char* kListNotShown = "your app passwords were not listed; nothing was changed";

struct QrFile {
  QrFormat format;
  std::string path;
};

Status CheckName(const std::string& name) {
  Status s = CheckAppPasswordName(name);
  if (!s.ok())
    return Status(s.code(), "app password name '" + SanitizeForLog(name, 80) + "': " + s.message());
  return s;
}

// The request as typed; an option given with an empty value is refused
// (leaving it out is how to ask for the default).
Result<AppPasswordRequest> RequestOf(const Invocation& inv) {
  AppPasswordRequest request;
  request.name = inv.app_password_name.value_or("");
  SESAME_RETURN_IF_ERROR(CheckName(request.name));
  if (inv.services.has_value()) {
    if (inv.services->empty())
      return Status(Code::kInvalidArgument,
                    "--services is empty: name the services (imap,pop3,submission,smtp), or "
                    "leave --services out for every service that takes app passwords");
    request.services = *inv.services;
  }
  if (inv.expires.has_value()) {
    if (inv.expires->empty())
      return Status(Code::kInvalidArgument,
                    "--expires is empty: use a number of days (e.g. 90d) or a date YYYY-MM-DD, "
                    "or leave --expires out for one that never expires");
    request.expires = *inv.expires;
  }
  // Every part, before a terminal, the store or a prompt is looked at.
  Result<AppPasswordRecord> checked =
      CheckAppPasswordRequest(request, inv.user, SystemClock().Now());
  if (!checked.ok()) return checked.status();
  return request;
}

std::string ServicesText(const std::vector<std::string>& services) {
  if (services.empty()) return "all";
  std::string out;
  for (const std::string& s : services) out += (out.empty() ? "" : ",") + s;
  return out;
}

// As core/qr/qr_render.h says (ChooseQrDrawing, the same for every tool).
bool UseHalfBlocks(const Invocation& inv) {
  const char* term = std::getenv("TERM");  // the sanitised one
  return ChooseQrDrawing(isatty(STDOUT_FILENO) != 0, inv.utf8_locale,
                         term != nullptr ? term : "") == QrDrawing::kHalfBlocks;
}

// OSC 52 "set the clipboard": ESC ] 52 ; c ; BASE64 BEL. Terminals that
// allow it (xterm, kitty, iTerm2, WezTerm, Windows Terminal, tmux with
// set-clipboard) put the text on the clipboard of the machine the person
// sits at, also over ssh.
std::string Osc52(std::string_view text) {
  std::string encoded = Base64Encode(text);
  while (encoded.size() % 4 != 0) encoded += '=';
  std::string out;  // appended to, in room made first: no copy left behind
  out.reserve(encoded.size() + 8);
  out += "\033]52;c;";
  out += encoded;
  out += '\a';
  WipeMemory(encoded.data(), encoded.size());
  return out;
}

// The ShowAppPassword of `create`: the files first (a failure stops here,
// before the secret is shown), then the text, the QR code and the
// clipboard.
Status Show(const Invocation& inv, const std::vector<QrFile>& files, QrFileWriter* writer,
            ToolPrompter& out, const MadeAppPassword& made, Status* failure) {
  Result<QrCode> qr = EncodeQr(made.shown.view());
  if (!qr.ok() && !files.empty()) {
    *failure = Status(Code::kInternal, "cannot make the QR code: " + qr.status().message());
    Fail(*failure);
    return Status(Code::kInternal, "the QR code could not be made");
  }
  for (const QrFile& file : files) {
    Status written = writer->Write(file.format, file.path, qr.value());
    if (!written.ok()) {
      std::fill(qr->modules.begin(), qr->modules.end(), false);
      *failure = Status(Code::kUnavailable, written.message());
      Fail(*failure);
      return Status(Code::kUnavailable, "the QR code file could not be written");
    }
  }
  const bool half_blocks = UseHalfBlocks(inv);
  const bool invert = inv.qr_invert || inv.light_background;
  std::string drawn;
  if (qr.ok()) {
    drawn = half_blocks ? RenderQrTerminal(qr.value(), invert) : RenderQrAscii(qr.value());
    std::fill(qr->modules.begin(), qr->modules.end(), false);
  } else {
    drawn = "(the QR code cannot be drawn: " + qr.status().message() + ")\n";
  }
  const AppPasswordRecord& rec = made.record;
  std::string text;
  text.reserve(drawn.size() + 4096 + 512 * files.size());
  text += "Your new app password \"" + SanitizeForLog(rec.name, 80) +
          "\" (services: " + ServicesText(rec.services) + "; expires: " + FormatTime(rec.expires) +
          "):\n\n    ";
  text += made.shown.view();
  text += "\n\nOr scan it from this QR code (on a phone):\n\n";
  text += drawn;
  WipeMemory(drawn.data(), drawn.size());
  if (half_blocks && !invert)
    text += "(If the phone does not see the code, run again with --qr-invert.)\n";
  text +=
      "\nType or paste it into the mail client instead of your password; spaces do not "
      "matter. It is shown only this once: revoke it with 'sesame app-password revoke' "
      "when the device is gone.\n";
  if (!files.empty()) {
    text += "The QR code is also in ";
    for (size_t k = 0; k < files.size(); ++k) {
      if (k > 0) text += " and ";
      text += SanitizeForLog(files[k].path, 200);
    }
    text +=
        " (only you can read it). Delete it once the client works: it holds the app "
        "password.\n";
  }
  out.Info(text);
  WipeMemory(text.data(), text.size());
  if (!out.output_error().empty()) {
    // Never seen: the flow revokes it (the store call takes root) and says
    // so; only the way to get one is left to say.
    *failure = Status(Code::kUnavailable, "cannot write to standard output (" + out.output_error() +
                                              "): run 'sesame app-password create' again "
                                              "with its output to the terminal");
    return Status(Code::kUnavailable,
                  "standard output could not be written: " + out.output_error());
  }
  if (inv.copy) {
    if (isatty(STDOUT_FILENO) != 0) {
      std::string osc = Osc52(made.shown.view());
      std::fwrite(osc.data(), 1, osc.size(), stdout);
      std::fflush(stdout);
      WipeMemory(osc.data(), osc.size());
      out.Info(
          "It is on your terminal's clipboard too (OSC 52), if your terminal allows that: "
          "paste it, then copy something else.");
    } else {
      out.Info("--copy: standard output is not a terminal, so nothing was put on a clipboard.");
    }
  }
  return Status::Ok();
}

}  // namespace

int RunAppPasswordCreate(const Invocation& inv) {
  Result<AppPasswordRequest> request = RequestOf(inv);
  if (!request.ok()) return Fail(request.status());
  Status terminal = CheckTerminal("sesame app-password create");
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

  Result<std::unique_ptr<ToolEnv>> env = OpenToolEnv(inv.config_path, inv.verbose, *inv.privileges);
  if (!env.ok()) return Fail(env.status());
  Result<UserRecord> account = FindAccount(**env, inv.user);
  if (!account.ok()) return Fail(account.status());
  Services services = (*env)->services();
  // What can be refused without a prompt, with its own exit code (the
  // flow checks the same again and would only say it).
  Status may = MayMakeAppPasswords(services, account.value());
  if (!may.ok()) {
    if (may.code() == Code::kPermissionDenied)
      return Fail(Status(may.code(), "you cannot make app passwords: " + may.message()));
    return Fail(may);
  }
  Status key = (*env)->LoadKey();
  if (!key.ok()) return Fail(key);
  services.host_key = &*(*env)->host_key;
  for (const QrFile& file : files) {
    Status usable = writer->Check(file.path);
    if (!usable.ok()) return Fail(Status(Code::kInvalidArgument, usable.message()));
  }

  ToolPrompter tty(*(*env)->logger);
  const RequestInfo r{inv.user, kService, ""};
  Status file_failure;
  ShowAppPassword show = [&](const MadeAppPassword& made) {
    return Show(inv, files, writer.get(), tty, made, &file_failure);
  };
  FlowResult result = CreateAppPassword(services, tty, r, request.value(), show);
  if (result.decision == Decision::kSuccess) {
    if (writer != nullptr) {
      Status kept = writer->Keep();
      if (!kept.ok())
        std::fprintf(stderr, "%s: warning: the QR code files may be gone: %s\n", kTool,
                     kept.message().c_str());
    }
    return kExitOk;
  }
  writer.reset();  // removes the files it wrote
  if (!file_failure.ok()) {
    // A file: said already. Standard output: the flow said it was revoked.
    if (!tty.output_error().empty()) Fail(file_failure);
    return kExitFailure;
  }
  if (result.decision == Decision::kFailure && !tty.asked()) {
    // Refused before a prompt (the flow has said why): a live app password
    // of that name, or app_password_max.
    Result<std::vector<AppPasswordRecord>> list = (*env)->store->ListAppPasswords(inv.user);
    const int64_t now = (*env)->clock.Now();
    const bool taken =
        list.ok() && std::any_of(list->begin(), list->end(), [&](const AppPasswordRecord& a) {
          return a.LiveAt(now) && a.name == request->name;
        });
    return taken ? kExitExists : kExitPermission;
  }
  return Refused(result, inv.user, "make an app password",
                 "wrong password or verification code; nothing was changed", tty.gave_up());
}

int RunAppPasswordList(const Invocation& inv) {
  Result<std::unique_ptr<ToolEnv>> env = OpenToolEnv(inv.config_path, inv.verbose, *inv.privileges);
  if (!env.ok()) return Fail(env.status());
  Result<UserRecord> account = FindAccount(**env, inv.user);
  if (!account.ok()) return Fail(account.status());
  Result<std::vector<AppPasswordRecord>> list = (*env)->store->ListAppPasswords(inv.user);
  if (!list.ok()) return Fail(list.status());
  const int64_t now = (*env)->clock.Now();
  std::vector<AppPasswordRecord> live;
  for (const AppPasswordRecord& a : list.value())
    if (a.LiveAt(now)) live.push_back(a);
  if (inv.json) {
    JsonWriter j;
    j.BeginArray();
    for (const AppPasswordRecord& a : live) {
      j.BeginObject();
      j.Key("name").String(a.name);
      j.Key("services").BeginArray();
      for (const std::string& s : a.services) j.String(s);
      j.EndArray();
      j.Key("created").String(FormatTime(a.created));
      j.Key("expires").String(FormatTime(a.expires));
      j.Key("last_used").String(FormatTime(a.last_used));
      j.Key("last_used_from").String(a.last_used_from);
      j.EndObject();
    }
    j.EndArray();
    std::printf("%s\n", j.str().c_str());
    return Printed(kListNotShown);
  }
  if (live.empty()) {
    std::printf("You have no app passwords (make one with: sesame app-password create NAME).\n");
    return Printed(kListNotShown);
  }
  std::printf("%-24s %-20s %-21s %-21s %-21s %s\n", "NAME", "SERVICES", "CREATED", "EXPIRES",
              "LAST USED", "FROM");
  for (const AppPasswordRecord& a : live) {
    std::printf("%-24s %-20s %-21s %-21s %-21s %s\n", SanitizeForLog(a.name, 64).c_str(),
                ServicesText(a.services).c_str(), FormatTime(a.created).c_str(),
                FormatTime(a.expires).c_str(), FormatTime(a.last_used).c_str(),
                a.last_used_from.empty() ? "-" : SanitizeForLog(a.last_used_from, 64).c_str());
  }
  return Printed(kListNotShown);
}

int RunAppPasswordRevoke(const Invocation& inv) {
  const bool all = inv.all;
  const bool named = inv.app_password_name.has_value();
  const std::string name = inv.app_password_name.value_or("");
  if (all && named)
    return Fail(Status(Code::kInvalidArgument,
                       "name one app password or give --all, not both; nothing was revoked"));
  if (!all && !named)
    return Fail(Status(Code::kInvalidArgument,
                       "name the app password to revoke (see sesame app-password list), or "
                       "give --all to revoke every one"));
  if (!all) {
    Status ok = CheckName(name);
    if (!ok.ok()) return Fail(ok);
  }
  Result<std::unique_ptr<ToolEnv>> env = OpenToolEnv(inv.config_path, inv.verbose, *inv.privileges);
  if (!env.ok()) return Fail(env.status());
  Result<UserRecord> account = FindAccount(**env, inv.user);
  if (!account.ok()) return Fail(account.status());
  Services services = (*env)->services();
  const RequestInfo r{inv.user, kService, ""};
  // on_revoke_command runs as root, out of the caller's reach (ToolEnv's
  // command runner); each store call takes root for itself.
  Result<int> revoked = RevokeAppPasswordsOf(services, r, name, "by the user");
  (*env)->logger->Flush();
  if (revoked.status().code() == Code::kNotFound) {
    return Fail(Status(Code::kNotFound, "you have no app password named \"" +
                                            SanitizeForLog(name, 80) +
                                            "\"; nothing was revoked (see sesame app-password "
                                            "list)"));
  }
  if (!revoked.ok()) return Fail(revoked.status());
  if (all) {
    std::printf("Revoked %d app password%s.\n", revoked.value(), revoked.value() == 1 ? "" : "s");
  } else {
    std::printf("Revoked app password \"%s\": it no longer signs in.\n",
                SanitizeForLog(name, 80).c_str());
  }
  return kExitOk;
}

}  // namespace sesame::self
