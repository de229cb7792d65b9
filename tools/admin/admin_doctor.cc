// sesame-admin doctor: is this host set up right? Checks the config, the
// key, the store (SQLite: trust, schema, integrity; PostgreSQL: the DSN,
// the passfile, the connection with its TLS and role, schema, consistency),
// the runtime directory, the module file, and the PAM stacks that use
// pam_sesame, and warns about stacks that are risky (pam_stack.h reads
// them). Changes nothing.
//
// Every finding is one line, "LEVEL: WHERE: what is wrong; what to do".
// Exit: 0 no finding, 1 warnings only, 2 errors (sesame-admin(8)).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "core/config/config.h"
#include "core/crypto/key_file.h"
#include "core/store/open/open_store.h"
#include "core/store/sqlite/sqlite_maintenance.h"
#include "tools/admin/admin_cli.h"
#include "tools/admin/admin_store.h"
#include "tools/admin/pam_stack.h"
#include "tools/common/exit_codes.h"
#include "tools/common/json.h"
#ifdef SESAME_WITH_POSTGRES
#include "core/store/postgres/postgres_maintenance.h"
#include "core/store/postgres/postgres_store.h"
#endif

namespace sesame::admin {
namespace {

constexpr const char* kDefaultPamDir = "/etc/pam.d";
constexpr const char* kModuleName = "pam_sesame.so";

// Services where a person gets a shell or root: only mode=interactive (or
// mfa_only) belongs there.
const std::set<std::string> kLoginServices = {
    "sshd",           "login",       "su",        "su-l",         "sudo",
    "sudo-i",         "runuser",     "runuser-l", "gdm-password", "lightdm",
    "sddm",           "xrdp-sesman", "cockpit",   "polkit-1",     "passwd",
    "chsh",           "chfn",        "other",     "common-auth",  "common-account",
    "common-password"};
// Mail services (Dovecot with args = %s, Postfix SASL): they prompt once.
const std::set<std::string> kMailServices = {"dovecot", "imap",        "imaps", "pop3",
                                             "pop3s",   "submission",  "smtp",  "smtps",
                                             "sieve",   "managesieve", "pop",   "mail"};
// Modules that ask for a password (or check the one typed).
const std::set<std::string> kPromptingModules = {
    "pam_unix.so",   "pam_sss.so",         "pam_ldap.so",
    "pam_krb5.so",   "pam_winbind.so",     "pam_pwdfile.so",
    "pam_userdb.so", "pam_radius_auth.so", "pam_google_authenticator.so",
    "pam_oath.so",   "pam_u2f.so",         "pam_yubico.so",
    "pam_exec.so",   "pam_ecryptfs.so"};

struct Finding {
  std::string level;  // "error", "warning", "info"
  std::string where;
  std::string message;
};

class Doctor {
 public:
  explicit Doctor(const Invocation& inv) : inv_(inv) {}

  int Run() {
    CheckFiles();
    CheckStacks();
    return Report();
  }

 private:
  void Add(const char* level, const std::string& where, const std::string& message) {
    for (const Finding& f : findings_)
      if (f.level == level && f.where == where && f.message == message) return;
    findings_.push_back({level, where, message});
  }

  void CheckFiles() {
    Result<Config> config = LoadConfigFile(inv_.config_path);
    if (!config.ok()) {
      Add("error", inv_.config_path,
          config.status().message() +
              "; pam_sesame denies every user but root until it is fixed (key and store not "
              "checked)");
      config_ok_ = false;
      return;
    }
    config_ = *config;
    Add("info", inv_.config_path, "configuration parses; every key is valid");
    if (!IsExemptUser(config_, kFallbackExemptUser))
      Add("warning", inv_.config_path,
          "exempt_users does not name root: a broken store or key would lock root out of every "
          "service that stacks pam_sesame; add root to exempt_users (the default)");

    Result<SecretBuffer> key = LoadHostKey(config_.key_file);
    if (!key.ok()) {
      Add("error", config_.key_file, key.status().message());
    } else {
      Add("info", config_.key_file, "key file present, 0400 root");
    }

    if (config_.store == "postgres") {
      CheckPostgres();
    } else {
      CheckSqlite();
    }

    struct stat st;
    if (lstat(config_.runtime_dir.c_str(), &st) != 0) {
      Add("info", config_.runtime_dir, "runtime directory not there yet; made at first use");
    } else {
      Status dir = CheckTrustedPath(config_.runtime_dir, "runtime directory", TrustRule{0, false});
      if (!dir.ok()) Add("error", config_.runtime_dir, dir.message());
    }
  }

  void CheckSqlite() {
    Result<SqliteFacts> facts =
        InspectSqliteStore(config_.store_path, TrustRule{0, true}, config_.store_busy_timeout_ms);
    if (!facts.ok()) {
      Add("error", config_.store_path, facts.status().message());
    } else if (facts->schema_version < facts->known_version) {
      Add("error", config_.store_path,
          "schema version " + std::to_string(facts->schema_version) + ", this sesame needs " +
              std::to_string(facts->known_version) +
              ": pam_sesame refuses it; run `sesame-admin db migrate`");
    } else if (facts->schema_version > facts->known_version) {
      Add("error", config_.store_path,
          "schema version " + std::to_string(facts->schema_version) +
              " is newer than this sesame knows (" + std::to_string(facts->known_version) +
              "); install the sesame that made it");
    } else if (!facts->integrity_ok) {
      Add("error", config_.store_path,
          "integrity check failed (" + facts->integrity + "); restore the store from a backup");
    } else {
      Add("info", config_.store_path,
          "store trusted, schema version " + std::to_string(facts->schema_version) +
              " (current), integrity ok");
    }
  }

#ifdef SESAME_WITH_POSTGRES
  // The server names a connection looks up, looked up as it does (within
  // postgres_connect_timeout): where they lead, and how long the name
  // service took, since every new connection (each sshd sign-in: a new
  // process) waits for it again.
  void CheckPostgresNames(const std::string& dsn) {
    const int timeout = config_.postgres_connect_timeout;
    for (const PostgresHostLookup& l : LookUpPostgresHosts(dsn, timeout)) {
      char took[32];
      if (l.seconds < 1)
        std::snprintf(took, sizeof took, "%.1f ms", l.seconds * 1000);
      else
        std::snprintf(took, sizeof took, "%.2f s", l.seconds);
      if (!l.error.empty()) {
        Add("warning", "postgres_dsn", l.error);
        continue;
      }
      std::string addresses;
      for (const std::string& a : l.addresses) addresses += (addresses.empty() ? "" : ", ") + a;
      Add("info", "postgres_dsn",
          l.name + " is " + addresses + " (looked up in " + took +
              "; each new connection looks it up again, for at most postgres_connect_timeout)");
      if (l.seconds * 4 > timeout) {
        Add("warning", "postgres_dsn",
            "the name service took " + std::string(took) + " to answer for " + l.name +
                ": every new connection (each sshd sign-in) waits that long; list the name in "
                "/etc/hosts or give the address as hostaddr= beside host=");
      }
    }
  }

  // A DSN that lists several servers (a primary and its standbys, for
  // failover): each one alone, so that a server that is down, or a second
  // primary (an old one back after a failover: hosts would write to two
  // databases), is seen before a failover needs it.
  void CheckPostgresServerList() {
    const std::vector<PostgresServerState> servers =
        CheckPostgresServers(PostgresOptionsOf(config_));
    std::vector<std::string> primaries;
    for (size_t i = 0; i < servers.size(); ++i) {
      const PostgresServerState& s = servers[i];
      const std::string which =
          "server " + std::to_string(i + 1) + " of " + std::to_string(servers.size()) + " (" +
          s.server + ")" +
          (s.remembered ? ", the primary last reached (" + config_.runtime_dir +
                              "/postgres-primary), tried first"
                        : "");
      if (!s.reached) {
        Add("warning", "postgres_dsn",
            which + " cannot be reached: " + s.error +
                "; sign-ins use the next server listed, after this one fails (at most "
                "postgres_connect_timeout), and a failover to it would fail");
      } else if (s.standby) {
        Add("info", "postgres_dsn",
            which + ": a standby (read-only); passed over until a failover promotes it");
      } else {
        Add("info", "postgres_dsn", which + ": a primary");
        primaries.push_back(s.server);
      }
    }
    if (primaries.size() > 1) {
      std::string list;
      for (const std::string& p : primaries) list += (list.empty() ? "" : ", ") + p;
      Add("error", "postgres_dsn",
          std::to_string(primaries.size()) + " servers of the list accept writes (" + list +
              "): hosts may sign in against different databases, each with its own lockout "
              "counters (an old primary back after a failover?); demote or stop all but one");
    }
  }

  // store = postgres: the DSN, the passfile, the connection the module
  // would open (server, TLS, role, primary), the schema and consistency,
  // and whether the role has more rights than a host needs.
  void CheckPostgres() {
    const std::string& dsn = config_.postgres_dsn;
    Status dsn_ok = CheckPostgresDsn(dsn);
    if (!dsn_ok.ok()) {
      Add("error", "postgres_dsn", dsn_ok.message() + " (store not checked)");
      return;
    }
    const std::string where = "postgres " + DescribePostgresDsn(dsn);
    const bool tcp = PostgresDsnUsesTcp(dsn);
    Add("info", "postgres_dsn",
        "names " + DescribePostgresDsn(dsn) + ", no password in it" +
            (tcp ? "; TLS with a verified server certificate (TCP host)" : "; Unix socket"));
    CheckPostgresNames(dsn);
    if (config_.postgres_passfile.empty()) {
      Add("info", "postgres_passfile",
          "not set: the role signs in without a password (Unix-socket peer or trust "
          "authentication, or a TLS client certificate in postgres_dsn)");
    } else {
      Status passfile =
          CheckTrustedPath(config_.postgres_passfile, "postgres_passfile", TrustRule{0, true});
      if (!passfile.ok()) {
        Add("error", config_.postgres_passfile,
            passfile.message() + "; pam_sesame refuses to connect until it is fixed");
        return;
      }
      Add("info", config_.postgres_passfile, "passfile present, root's, no group/other access");
    }

    CheckPostgresServerList();

    StoreOptions options;
    options.migrate = false;  // doctor changes nothing
    Result<std::unique_ptr<Store>> store = OpenStore(config_, options);
    if (!store.ok()) {
      Add("error", where, store.status().message());
      return;
    }
    Result<PostgresConnectionInfo> info = DescribePostgresConnection(**store);
    if (!info.ok()) {
      Add("error", where, info.status().message());
      return;
    }
    const PostgresConnectionInfo& c = *info;
    if (c.read_only) {
      Add("error", where,
          "the server is a read-only standby (pg_is_in_recovery): sesame writes at every "
          "sign-in; point postgres_dsn at the primary");
    }
    if (tcp && !c.tls) {
      Add("error", where,
          "the connection to a TCP host is not encrypted: password hashes would cross the "
          "network in clear; set sslmode=verify-full (and ssl = on on the server)");
    } else if (tcp && (c.tls_protocol == "TLSv1" || c.tls_protocol == "TLSv1.1")) {
      Add("warning", where,
          "the connection uses " + c.tls_protocol +
              ", which is outdated; set ssl_min_protocol_version = 'TLSv1.2' on the server");
    }
    Add("info", where, "connected to " + PostgresServerText(c));
    Result<int> version = (*store)->SchemaVersion();
    store->reset();
    if (!version.ok()) {
      Add("error", where, version.status().message());
      return;
    }

    Result<PostgresFacts> facts = InspectPostgresStore(PostgresOptionsOf(config_));
    if (!facts.ok()) {
      Add("error", where, facts.status().message());
      return;
    }
    for (const std::string& problem : facts->problems) Add("error", where, problem);
    const bool current = *version == kPostgresSchemaVersion;
    if (!current) {
      // Opened, so usable as it is (kPostgresOldestUsableVersion).
      Add("warning", where,
          "schema version " + std::to_string(*version) + ", this sesame knows " +
              std::to_string(kPostgresSchemaVersion) +
              ": sign-ins work, without the newer indexes; once every host runs this sesame, "
              "run `sesame-admin db migrate` from one host as the owner role");
    }
    if (facts->problems.empty()) {
      Add("info", where,
          "schema version " + std::to_string(*version) + (current ? " (current)" : "") +
              ", consistency checks ok");
    }
    if (facts->superuser) {
      Add("warning", where,
          "role " + c.user +
              " is a superuser: every host's passfile opens the whole server; give the hosts a "
              "role with only SELECT, INSERT, UPDATE, DELETE on sesame's tables "
              "(docs/install.md, \"Fleet\")");
    } else if (facts->ddl_rights) {
      Add("warning", where,
          "role " + c.user +
              " owns sesame's tables or may create objects in their schema: a host's stolen "
              "passfile could drop or change them; after `sesame-admin init` and migrations, "
              "give the hosts a role with only SELECT, INSERT, UPDATE, DELETE on them "
              "(docs/install.md, \"Fleet\")");
    }
  }
#else
  void CheckPostgres() {
    Add("error", inv_.config_path,
        "store = postgres, but this build of sesame-admin has no PostgreSQL backend (built "
        "without libpq); use a build with it");
  }
#endif

  // The module file a line loads: its absolute path, or the name in the
  // directory this sesame installs it to.
  static std::string ModulePath(const PamLine& line) {
    if (!line.module.empty() && line.module[0] == '/') return line.module;
    return std::string(SESAME_PAM_MODULE_INSTALL_DIR) + "/" + line.module;
  }

  void CheckModuleFile(const PamLine& line) {
    const std::string path = ModulePath(line);
    struct stat st;
    if (stat(path.c_str(), &st) != 0) {
      Add("error", line.Where(),
          "names " + path +
              ", which does not exist: libpam fails this line for everyone; "
              "install sesame or remove the line");
    } else if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      Add("error", path,
          "module file not owned by root or writable by others; chown root:root " + path +
              " && chmod 0644 " + path);
    }
  }

  void CheckStacks() {
    const std::string dir = inv_.pam_dir.value_or(kDefaultPamDir);
    Result<std::vector<PamService>> services = ReadPamDir(dir);
    if (!services.ok()) {
      Add("warning", dir, services.status().message() + "; PAM stacks not checked");
      return;
    }
    for (const PamService& service : *services) CheckService(service);
    if (users_ == 0) Add("info", dir, "no service uses pam_sesame");
  }

  void CheckService(const PamService& service) {
    std::vector<const PamLine*> ours;
    for (const PamLine& line : service.lines)
      if (line.ModuleName() == kModuleName) ours.push_back(&line);
    if (ours.empty()) return;
    ++users_;
    for (const std::string& problem : service.problems) Add("warning", service.name, problem);

    const bool login = kLoginServices.count(service.name) != 0;
    const bool mail = kMailServices.count(service.name) != 0;
    bool has_auth = false;
    bool has_account = false;
    std::string summary;
    for (const PamLine* line : ours) {
      CheckModuleFile(*line);
      const std::string mode = line->Arg("mode", "interactive");
      if (line->type == "auth") has_auth = true;
      if (line->type == "account") has_account = true;
      if (line->type == "session") {
        Add("error", line->Where(),
            "pam_sesame has no session group: this line fails (PAM_MODULE_UNKNOWN); remove it");
        continue;
      }
      summary += (summary.empty() ? "" : ", ") + line->type +
                 (line->type == "auth" ? " (mode=" + mode + ")" : "");
      if (line->type == "auth") CheckAuthLine(service, *line, mode, login, mail);
      CheckAfterDeny(service, *line, mode);
      CheckRootPath(service, *line, login);
    }
    Add("info", service.name, "uses Sesame: " + summary);
    // common-auth and the like are fragments for @include (Debian): their
    // account lines live in common-account.
    const bool fragment = service.name.rfind("common-", 0) == 0;
    if (has_auth && !has_account && !fragment)
      Add("warning", service.name,
          "pam_sesame is in the auth stack but not in the account stack: a disabled account or a "
          "forced password change is not enforced here; add `account [success=ok "
          "new_authtok_reqd=ok user_unknown=ignore default=die] pam_sesame.so`");
  }

  void CheckAuthLine(const PamService& service, const PamLine& line, const std::string& mode,
                     bool login, bool mail) {
    if (mode == "app_password" && login)
      Add("warning", line.Where(),
          "mode=app_password on " + service.name +
              ": an app password would open a session here without the second factor; use "
              "mode=interactive (the default)");
    if (mode == "interactive" && mail)
      Add("warning", line.Where(),
          "mode=interactive on mail service " + service.name +
              ": the mail server answers the verification-code prompt with the password, so "
              "users with an authenticator cannot sign in and each try counts toward their "
              "lockout, and each failure makes the mail server's auth worker sleep 2 s "
              "(pam_fail_delay), stalling the logins behind it; use mode=app_password");
    const std::string on_failure = line.Action("auth_err");
    if (on_failure == "ignore" || on_failure == "ok") {
      for (const PamLine& later : service.lines) {
        if (later.type != "auth" || &later <= &line) continue;
        if (kPromptingModules.count(later.ModuleName()) == 0) continue;
        Add("warning", line.Where(),
            "pam_sesame is '" + line.control + "' before " + later.ModuleName() + " (" +
                later.Where() +
                "), which checks a password too: a Sesame user whom pam_sesame refuses (wrong "
                "code, locked, disabled) can still sign in there; use [success=done "
                "user_unknown=ignore default=die]");
        break;
      }
    }
  }

  void CheckAfterDeny(const PamService& service, const PamLine& line, const std::string& mode) {
    if (mode == "mfa_only") return;  // the Additional block after pam_deny is its place
    for (const PamLine& earlier : service.lines) {
      if (&earlier >= &line) break;
      if (earlier.type != line.type || earlier.ModuleName() != "pam_deny.so") continue;
      Add("warning", line.Where(),
          "pam_sesame comes after pam_deny.so (" + earlier.Where() + ") in the " + line.type +
              " stack: the decision is made before it, so Sesame's password never lets anyone "
              "in; put pam_sesame before the module that jumps over pam_deny");
      return;
    }
  }

  // An exempt root gets PAM_USER_UNKNOWN: the control must let it go on.
  void CheckRootPath(const PamService& service, const PamLine& line, bool login) {
    if (!login || line.type == "session") return;
    const std::string unknown = line.Action("user_unknown");
    if (unknown == "bad" || unknown == "die") {
      Add("warning", line.Where(),
          "in " + service.name + " this line turns PAM_USER_UNKNOWN into a failure ('" +
              line.control + "'): root and every user not in the store (exempt_users) cannot " +
              "sign in here" + (line.type == "account" ? ", key logins included" : "") +
              "; use [success=... user_unknown=ignore default=die]");
      return;
    }
    if (config_ok_ && IsExemptUser(config_, kFallbackExemptUser)) return;
    const std::string unavailable = line.Action("authinfo_unavail");
    if (unavailable == "bad" || unavailable == "die")
      Add("warning", line.Where(),
          "root is not in exempt_users and this line denies when the store or key is unusable: "
          "a broken store would lock root out of " +
              service.name + "; add root to exempt_users");
  }

  int Report() {
    int errors = 0;
    int warnings = 0;
    for (const Finding& f : findings_) {
      errors += f.level == "error";
      warnings += f.level == "warning";
    }
    if (inv_.json) {
      JsonWriter j;
      j.BeginObject().Key("errors").Int(errors).Key("warnings").Int(warnings);
      j.Key("findings").BeginArray();
      for (const Finding& f : findings_) {
        j.BeginObject().Key("level").String(f.level).Key("where").String(f.where);
        j.Key("message").String(f.message).EndObject();
      }
      j.EndArray().EndObject();
      std::printf("%s\n", j.str().c_str());
    } else {
      for (const Finding& f : findings_) {
        if (f.level == "info" && !inv_.verbose && f.message.rfind("uses Sesame", 0) != 0) continue;
        std::printf("%s: %s: %s\n", f.level.c_str(), f.where.c_str(), f.message.c_str());
      }
      std::printf("%d error%s, %d warning%s\n", errors, errors == 1 ? "" : "s", warnings,
                  warnings == 1 ? "" : "s");
    }
    if (errors > 0) return kExitDoctorErrors;
    return warnings > 0 ? kExitDoctorWarnings : kExitOk;
  }

  static constexpr int kExitDoctorWarnings = 1;
  static constexpr int kExitDoctorErrors = 2;

  const Invocation& inv_;
  Config config_;
  bool config_ok_ = true;
  int users_ = 0;
  std::vector<Finding> findings_;
};

}  // namespace

int RunDoctor(const Invocation& inv) { return Doctor(inv).Run(); }

}  // namespace sesame::admin
