// Faults of a PostgreSQL store, through the real PAM module in this one
// long-running process (issue 13, "Proof"): the module keeps its
// connection between handles (pam_module/store_pool.h), as a Dovecot auth
// worker does, so what a server restart does to a kept connection is seen
// here.
//
//  - A private cluster (tests/pg/pg-cluster start into the test's own dir,
//    never the shared one, since it is stopped and started), reached as a
//    fleet host reaches it: TCP 127.0.0.1, TLS verify-full against the
//    cluster's CA, the password in a root-only passfile. Restarted between
//    two sign-ins: the next one works at once. Stopped: sign-ins fail
//    closed (PAM_AUTHINFO_UNAVAIL) within postgres_connect_timeout, and the
//    log names the server and the error. Started again: the next sign-in
//    of this same process works, nothing re-created.
//  - A streaming standby of that cluster (pg_basebackup -R): named alone
//    in postgres_dsn it is refused with a line saying to point at the
//    primary; named first in a list of both, the primary is used. Then a
//    switchover (the primary stopped, the standby promoted): the next
//    sign-in of this same process follows it, and the failure count
//    written before it is the new primary's (docs/install.md,
//    "Replication and failover").
//  - A server that accepts the TCP connection and never answers (a socket
//    here that listens and never reads): given up after
//    postgres_connect_timeout (2 s), not hung.
//  - A server name the name server never answers: given up after
//    postgres_connect_timeout, and not asked again by the next sign-in
//    while the first lookup still waits.
//  - Config errors: a DSN holding a password, a passfile readable by its
//    group, sslmode=disable to a TCP host: refused with a PAM error and a
//    log line saying what to do, the password never logged, nothing
//    crashed (the same process signs in afterwards).
//
// Without a cluster (SESAME_TEST_POSTGRES unset, or a build without libpq)
// the tests skip with the reason, or fail with SESAME_REQUIRE_POSTGRES=1.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "tests/fakes/store_backends.h"
#include "tests/pam/pam_harness.h"

namespace sesame::pam_testing {
namespace {

#ifdef SESAME_WITH_POSTGRES

using ::sesame::testing::PostgresBackend;
using ::sesame::testing::PostgresClusterFacts;
using ::sesame::testing::PostgresRun;
using Clock = std::chrono::steady_clock;

constexpr char kPassword[] = "correct horse battery staple 7";
// Without `debug`, as in production: the lines counted are the module's
// own, not its debug dump of the configuration (which names the server
// too).
constexpr char kService[] = "sesame-quiet";
const std::string kPgCluster = SESAME_PG_CLUSTER_SCRIPT;
// postgres_connect_timeout in these tests (its minimum), and what a
// refusal may take beyond it.
constexpr int kConnectTimeout = 2;
constexpr int kStatementTimeout = 1;  // postgres_statement_timeout
constexpr double kMarginSeconds = 1.5;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// NAME='VALUE' lines of a pg-cluster cluster.env.
std::map<std::string, std::string> ReadEnvFile(const std::string& path) {
  std::map<std::string, std::string> facts;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'')
      value = value.substr(1, value.size() - 2);
    facts[line.substr(0, eq)] = value;
  }
  return facts;
}

// Runs argv to its end (at most kCommandTimeoutSeconds) without fork():
// posix_spawn runs no pthread_atfork handlers, so the connections the
// module keeps in this process (closed before every fork(), store_pool.h)
// stay open across it, as they do while an administrator restarts the
// server from another machine. Its output goes to `log`.
int Spawn(const std::vector<std::string>& argv, const std::string& log, std::string* output) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char path_env[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char lang_env[] = "LC_ALL=C";
  char* env[] = {path_env, lang_env, nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), env);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    *output = std::string("posix_spawn ") + argv[0] + ": " + std::strerror(spawned);
    return -1;
  }
  const int status = WaitChild(pid, "`" + argv[0] + "`", kCommandTimeoutSeconds);
  std::ifstream in(log);
  output->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The server's processes: the postmaster (first line of postmaster.pid)
// and its children, the sessions among them.
std::vector<pid_t> ServerProcesses(const std::string& data_dir) {
  std::vector<pid_t> pids;
  std::ifstream pidfile(data_dir + "/postmaster.pid");
  pid_t postmaster = 0;
  if (!(pidfile >> postmaster) || postmaster <= 0) return pids;
  pids.push_back(postmaster);
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (struct dirent* e = readdir(proc)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces; read after the ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    pid_t ppid = 0;
    if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == postmaster)
      pids.push_back(pid);
  }
  closedir(proc);
  return pids;
}

// A TCP port on 127.0.0.1 nothing listens on now.
int FreeTcpPort() {
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(s);
  return port;
}

// A socket on 127.0.0.1 that listens, so the kernel completes every TCP
// handshake, and never answers: a server that accepts and then says
// nothing. Non-blocking, so a test can accept() what came without
// waiting. Its port in *port; -1 (errno set) when it cannot be made.
int SilentListener(std::string* port) {
  const int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (s < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(s, 64) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    close(s);
    errno = err;
    return -1;
  }
  *port = std::to_string(ntohs(addr.sin_port));
  return s;
}

std::string Runuser() {
  return access("/usr/sbin/runuser", X_OK) == 0 ? "/usr/sbin/runuser" : "/sbin/runuser";
}

class PostgresFaultsTest : public PamTest {
 protected:
  void SetUp() override {
    SESAME_SKIP_UNAVAILABLE_BACKEND(PostgresBackend());
    ASSERT_NO_FATAL_FAILURE(PamTest::SetUp());
  }

  void TearDown() override {
    ThawServer();
    if (!standby_dir_.empty()) {
      std::string output;
      Spawn(AsServer({private_["PG_BIN"] + "/pg_ctl", "-D", standby_dir_ + "/data", "-m",
                      "immediate", "-w", "-t", "30", "stop"}),
            state_dir_ + "/standby-stop.out", &output);
      RemoveTree(standby_dir_);
    }
    if (!cluster_dir_.empty()) {
      CommandResult stopped = RunCommand({"/bin/bash", kPgCluster, "stop", cluster_dir_});
      EXPECT_EQ(stopped.exit_code, 0) << stopped.out << stopped.err;
    }
    if (!shared_db_.empty()) {
      PostgresRun(shared_admin_dsn_, "DROP DATABASE IF EXISTS " + shared_db_ + " WITH (FORCE)");
    }
    PamTest::TearDown();
  }

  // A private cluster of this test, in its state dir; its facts in
  // private_.
  void StartPrivateCluster() {
    cluster_dir_ = state_dir_ + "/pg";
    CommandResult started = RunCommand({"/bin/bash", kPgCluster, "start", cluster_dir_});
    ASSERT_EQ(started.exit_code, 0) << started.out << started.err;
    private_ = ReadEnvFile(cluster_dir_ + "/cluster.env");
    ASSERT_FALSE(private_["PG_DATA"].empty()) << "no facts in " << cluster_dir_ << "/cluster.env";
  }

  // pg_ctl ARGS on the private cluster, as the server's user, without
  // fork() (Spawn).
  void PgCtl(const std::vector<std::string>& args) {
    ASSERT_NO_FATAL_FAILURE(PgCtlOn(private_["PG_DATA"], args));
  }
  void PgCtlOn(const std::string& data_dir, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {private_["PG_BIN"] + "/pg_ctl", "-D", data_dir};
    argv.insert(argv.end(), args.begin(), args.end());
    ASSERT_NO_FATAL_FAILURE(RunAsServer(argv));
  }
  // argv as the server's OS user (runuser when root), to exit 0.
  void RunAsServer(const std::vector<std::string>& argv) {
    std::string output;
    const int code = Spawn(AsServer(argv), state_dir_ + "/server-command.out", &output);
    std::string shown;
    for (const std::string& a : argv) shown += " " + a;
    ASSERT_EQ(code, 0) << shown << ": " << output;
  }
  std::vector<std::string> AsServer(const std::vector<std::string>& argv) {
    std::vector<std::string> full;
    if (geteuid() == 0 && private_["PG_SERVER_USER"] != "root") {
      full = {Runuser(), "-u", private_["PG_SERVER_USER"], "--"};
    }
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
  }

  // A streaming standby of the private cluster, in a directory of its own
  // under /var/tmp (the server's user must reach it; a socket path stays
  // short): pg_basebackup -R from the primary's socket, its own port and
  // socket dir, started and streaming. Its port in standby_port_.
  void StartStandby() {
    char dir[] = "/var/tmp/sesame-pg-standby.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr) << std::strerror(errno);
    standby_dir_ = dir;
    ASSERT_EQ(chmod(dir, 0755), 0);
    if (geteuid() == 0 && private_["PG_SERVER_USER"] != "root") {
      const passwd* pw = getpwnam(private_["PG_SERVER_USER"].c_str());
      ASSERT_NE(pw, nullptr) << private_["PG_SERVER_USER"];
      ASSERT_EQ(chown(dir, pw->pw_uid, pw->pw_gid), 0) << std::strerror(errno);
    }
    const std::string data = standby_dir_ + "/data";
    ASSERT_NO_FATAL_FAILURE(RunAsServer(
        {private_["PG_BIN"] + "/pg_basebackup", "-D", data, "-R", "-X", "stream", "-c", "fast",
         "-h", private_["PG_SOCKET_DIR"], "-p", private_["PG_PORT"], "-U", "postgres"}));
    {
      std::ofstream auto_conf(data + "/postgresql.auto.conf", std::ios::app);
      auto_conf << "unix_socket_directories = '" << standby_dir_ << "'\n";
      ASSERT_TRUE(auto_conf.good());
    }
    // postgresql.conf includes pg-cluster-port.conf (tests/pg/pg-cluster;
    // postgresql.auto.conf, with primary_conninfo from -R, is read last):
    // a free port, another one if a process of a test beside this one
    // binds it first.
    bool started = false;
    std::string output;
    for (int attempt = 0; attempt < 5 && !started; ++attempt) {
      standby_port_ = std::to_string(FreeTcpPort());
      ASSERT_TRUE(
          WriteFile(data + "/pg-cluster-port.conf", "port = " + standby_port_ + "\n", 0644));
      started = Spawn(AsServer({private_["PG_BIN"] + "/pg_ctl", "-D", data, "-l",
                                standby_dir_ + "/server.log", "-w", "-t", "60", "start"}),
                      state_dir_ + "/server-command.out", &output) == 0;
      if (!started) {
        std::ifstream log(standby_dir_ + "/server.log");
        const std::string text((std::istreambuf_iterator<char>(log)),
                               std::istreambuf_iterator<char>());
        if (text.find("could not bind") == std::string::npos &&
            text.find("Address already in use") == std::string::npos) {
          break;
        }
      }
    }
    ASSERT_TRUE(started) << "the standby did not start: " << output << "; its log: " << standby_dir_
                         << "/server.log";
    // Streaming before anything is written that the switchover must keep.
    std::string error;
    for (int i = 0; i < 200; ++i) {
      error = PostgresRun(private_["PG_ADMIN_DSN"],
                          "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_stat_replication WHERE "
                          "state = 'streaming') THEN RAISE EXCEPTION 'no standby streams'; END "
                          "IF; END $$");
      if (error.empty()) break;
      usleep(50 * 1000);
    }
    ASSERT_EQ(error, "") << "the standby does not stream; its log: " << standby_dir_
                         << "/server.log";
  }
  // Same data dir, same port and socket dir (its postgresql.conf).
  void StopServer() { ASSERT_NO_FATAL_FAILURE(PgCtl({"-m", "fast", "-w", "-t", "60", "stop"})); }
  void StartServer() {
    ASSERT_NO_FATAL_FAILURE(PgCtl({"-l", private_["PG_LOG"], "-w", "-t", "60", "start"}));
  }

  // A new database in the shared test cluster, owned by role sesame; its
  // DSN over the Unix socket.
  std::string SharedDatabase() {
    std::string why;
    std::map<std::string, std::string> facts = PostgresClusterFacts(&why);
    EXPECT_FALSE(facts.empty()) << why;
    if (facts.empty()) return "";
    shared_admin_dsn_ = facts["PG_ADMIN_DSN"];
    shared_db_ = "faults_" + std::to_string(getpid());
    const std::string created =
        PostgresRun(shared_admin_dsn_, "CREATE DATABASE " + shared_db_ + " OWNER sesame");
    EXPECT_EQ(created, "");
    if (!created.empty()) shared_db_.clear();
    return "host=" + facts["PG_SOCKET_DIR"] + " port=" + facts["PG_PORT"] +
           " dbname=" + shared_db_ + " user=sesame";
  }

  // A host of a fleet: the private cluster reached over TCP 127.0.0.1 with
  // TLS verified against its CA and the password in a root-only passfile;
  // the schema made by init, alice added. server_ names it as the log does.
  void SetUpFleetHost() {
    ASSERT_NO_FATAL_FAILURE(StartPrivateCluster());
    const std::string passfile = state_dir_ + "/pgpass";
    ASSERT_TRUE(WriteFile(passfile,
                          "127.0.0.1:" + private_["PG_PORT"] +
                              ":sesame:sesame:" + private_["PG_SESAME_PASSWORD"] + "\n",
                          0600));
    server_ = "host=127.0.0.1 port=" + private_["PG_PORT"];
    ASSERT_NO_FATAL_FAILURE(WriteConfig({
        {"store", "postgres"},
        {"postgres_dsn", server_ + " dbname=sesame user=sesame sslrootcert=" + private_["PG_CA"]},
        {"postgres_passfile", passfile},
        {"postgres_connect_timeout", std::to_string(kConnectTimeout)},
        {"postgres_statement_timeout", std::to_string(kStatementTimeout)},
    }));
    ASSERT_NO_FATAL_FAILURE(Admin({"init"}));
    ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  }

  // SIGSTOP / SIGCONT to every process of the private server.
  void FreezeServer() {
    frozen_ = ServerProcesses(private_["PG_DATA"]);
    ASSERT_GE(frozen_.size(), 2u) << "the postmaster and at least the kept session";
    for (pid_t pid : frozen_) ASSERT_EQ(kill(pid, SIGSTOP), 0) << pid;
  }
  void ThawServer() {
    for (pid_t pid : frozen_) kill(pid, SIGCONT);
    frozen_.clear();
  }

  // A sign-in with the right password fails closed (PAM_AUTHINFO_UNAVAIL)
  // within `bound` seconds + kMarginSeconds, and the log has `lines` lines
  // naming server_, one of them with `error`.
  void ExpectFailsClosed(const std::string& what, double bound, const std::string& error,
                         size_t lines) {
    SCOPED_TRACE(what);
    const size_t mark = DevLog().Mark();
    const auto start = Clock::now();
    PamRun run = RunPam(kService, "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
    const double took = SecondsSince(start);
    EXPECT_PAM_CODES(run, PAM_AUTHINFO_UNAVAIL);
    EXPECT_LT(took, bound + kMarginSeconds);
    if (!DevLog().available()) return;
    std::vector<LogLine> logged = DevLog().Since(mark);
    std::vector<LogLine> naming = Matching(logged, server_);
    EXPECT_EQ(naming.size(), lines) << "lines naming the server\n" << Dump(logged);
    EXPECT_TRUE(AnyContains(naming, error)) << Dump(logged);
  }

  // One pam_authenticate as alice on kService.
  int SignIn(const std::string& password) {
    PamRun run = RunPam(kService, "alice", {password}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
    return run.codes.empty() ? kNotRun : run.codes[0];
  }

  std::string cluster_dir_;
  std::string standby_dir_;
  std::string standby_port_;
  std::string server_;
  std::vector<pid_t> frozen_;
  std::map<std::string, std::string> private_;
  std::string shared_admin_dsn_;
  std::string shared_db_;
};

TEST_F(PostgresFaultsTest, AStoppedOrHungServerFailsClosedInTimeAndTheSameProcessSignsInAfter) {
  ASSERT_NO_FATAL_FAILURE(SetUpFleetHost());
  ASSERT_EQ(PamCodeName(SignIn(kPassword)), PamCodeName(PAM_SUCCESS));
  // Restarted between two sign-ins: the kept connection is dead, and the
  // next sign-in does not notice (a new one, in the same call).
  ASSERT_NO_FATAL_FAILURE(StopServer());
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(PamCodeName(SignIn(kPassword)), PamCodeName(PAM_SUCCESS)) << "after a server restart";

  // Stopped: fails closed, in time, and says where and why, in one line.
  // With the connection kept from the last sign-in the call finds it dead
  // and connects again (refused); the store then answers the rest of the
  // call (its event) at once with the same error, which the decision's
  // line carries; with none kept, the store does not open.
  ASSERT_NO_FATAL_FAILURE(StopServer());
  ExpectFailsClosed("with the kept connection", kConnectTimeout, "Connection refused", 1);
  ExpectFailsClosed("with none kept", kConnectTimeout, "Connection refused", 1);

  // Back: the same process signs in, with nothing re-created.
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(PamCodeName(SignIn(kPassword)), PamCodeName(PAM_SUCCESS)) << "once it is back";
  EXPECT_EQ(PamCodeName(SignIn("wrong")), PamCodeName(PAM_AUTH_ERR));

  // Hung, every server process stopped (the session of the kept connection
  // too): the statement's deadline (postgres_statement_timeout + 1 s) ends
  // the wait, once; the rest of the call does not wait again; one line.
  ASSERT_NO_FATAL_FAILURE(FreezeServer());
  ExpectFailsClosed("hung", kStatementTimeout + 1, "postgres_statement_timeout", 1);
  ThawServer();
  EXPECT_EQ(PamCodeName(SignIn(kPassword)), PamCodeName(PAM_SUCCESS)) << "once it answers again";
  SKIP_WITHOUT_LOGS();
}

// docs/install.md, "Replication and failover": sesame writes at every
// sign-in, so it connects to a primary only (target_session_attrs=
// read-write); a list of servers follows a failover.
TEST_F(PostgresFaultsTest, AStandbyIsRefusedAndASwitchoverIsFollowedByTheSameProcess) {
  ASSERT_NO_FATAL_FAILURE(SetUpFleetHost());
  ASSERT_NO_FATAL_FAILURE(StartStandby());
  const std::string passfile = state_dir_ + "/pgpass";
  ASSERT_TRUE(WriteFile(
      passfile, "127.0.0.1:*:sesame:sesame:" + private_["PG_SESAME_PASSWORD"] + "\n", 0600));
  auto config = [&](const std::string& hosts, const std::string& ports) {
    WriteConfig({
        {"store", "postgres"},
        {"postgres_dsn", "host=" + hosts + " port=" + ports +
                             " dbname=sesame user=sesame sslrootcert=" + private_["PG_CA"]},
        {"postgres_passfile", passfile},
        {"postgres_connect_timeout", std::to_string(kConnectTimeout)},
        {"deny", "3"},
        {"fail_interval", "900"},
        {"unlock_time", "600"},
    });
  };

  // The standby alone: refused at once, and the line says what to do.
  server_ = "host=127.0.0.1 port=" + standby_port_;
  ASSERT_NO_FATAL_FAILURE(config("127.0.0.1", standby_port_));
  ExpectFailsClosed("the standby alone", kConnectTimeout, "point postgres_dsn at the primary", 1);
  CommandResult admin = RunAdmin({"user", "list"});
  EXPECT_NE(admin.exit_code, 0) << admin.out;
  EXPECT_NE(admin.err.find("session is read-only"), std::string::npos) << admin.err;
  EXPECT_NE(admin.err.find("point postgres_dsn at the primary"), std::string::npos) << admin.err;

  // Both, the standby first: libpq passes it by for the primary.
  ASSERT_NO_FATAL_FAILURE(config("127.0.0.1,127.0.0.1", standby_port_ + "," + private_["PG_PORT"]));
  // doctor names the server it reached (before the sign-ins: RunAdmin
  // forks, and the module closes its kept connections before a fork).
  // It also looks at each server of the list alone.
  CommandResult doctor = RunAdmin({"--verbose", "doctor"});
  EXPECT_NE(doctor.out.find("connected to 127.0.0.1 port " + private_["PG_PORT"] + ": "),
            std::string::npos)
      << doctor.out << doctor.err;
  EXPECT_NE(doctor.out.find("server 1 of 2 (127.0.0.1 port " + standby_port_ +
                            "): a standby (read-only)"),
            std::string::npos)
      << doctor.out;
  EXPECT_NE(
      doctor.out.find("server 2 of 2 (127.0.0.1 port " + private_["PG_PORT"] + "): a primary"),
      std::string::npos)
      << doctor.out;
  // The primary, second in the list, was remembered by doctor's own
  // connection (runtime_dir/postgres-primary), and is tried first from now
  // on; the next doctor says so.
  doctor = RunAdmin({"--verbose", "doctor"});
  EXPECT_NE(doctor.out.find("server 2 of 2 (127.0.0.1 port " + private_["PG_PORT"] +
                            "), the primary last reached (" + runtime_dir_ +
                            "/postgres-primary), tried first: a primary"),
            std::string::npos)
      << doctor.out;
  ASSERT_EQ(PamCodeName(SignIn(kPassword)), PamCodeName(PAM_SUCCESS)) << "standby listed first";
  // Two failures of three, written on the primary (and streamed). The
  // connection is kept for the next sign-in: nothing below forks.
  EXPECT_EQ(PamCodeName(SignIn("wrong 1")), PamCodeName(PAM_AUTH_ERR));
  EXPECT_EQ(PamCodeName(SignIn("wrong 2")), PamCodeName(PAM_AUTH_ERR));

  // Switchover: the primary stops (a fast stop sends the standby all it
  // wrote), the standby is promoted.
  ASSERT_NO_FATAL_FAILURE(StopServer());
  ASSERT_NO_FATAL_FAILURE(PgCtlOn(standby_dir_ + "/data", {"-w", "-t", "60", "promote"}));

  // The same process, its kept connection dead: the next sign-in connects
  // to the new primary, which has the two failures: the third locks.
  EXPECT_EQ(PamCodeName(SignIn("wrong 3")), PamCodeName(PAM_AUTH_ERR)) << "after the switchover";
  PamRun locked = RunPam(kService, "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
  EXPECT_PAM_CODES(locked, PAM_AUTH_ERR);
  ASSERT_EQ(locked.conv.Errors().size(), 1u) << "the right password after 3 failures";
  EXPECT_NE(locked.conv.Errors()[0].find("locked"), std::string::npos) << locked.conv.Errors()[0];
  // Unlocked there by the administrator, the right password works.
  ASSERT_NO_FATAL_FAILURE(Admin({"unlock", "alice"}));
  EXPECT_EQ(PamCodeName(SignIn(kPassword)), PamCodeName(PAM_SUCCESS)) << "on the new primary";
  CommandResult shown = RunAdmin({"user", "show", "alice", "--json"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("\"failures\":0"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("\"locked\":false"), std::string::npos) << shown.out;
  doctor = RunAdmin({"--verbose", "doctor"});
  EXPECT_NE(doctor.out.find("connected to 127.0.0.1 port " + standby_port_ + ": "),
            std::string::npos)
      << doctor.out << doctor.err;
  // The new primary is the DSN's first: nothing is remembered any more.
  EXPECT_NE(doctor.out.find("server 1 of 2 (127.0.0.1 port " + standby_port_ + "): a primary"),
            std::string::npos)
      << doctor.out;
  EXPECT_NE(access((runtime_dir_ + "/postgres-primary").c_str(), F_OK), 0);
  EXPECT_NE(doctor.out.find("warning: postgres_dsn: server 2 of 2 (127.0.0.1 port " +
                            private_["PG_PORT"] + ") cannot be reached: "),
            std::string::npos)
      << doctor.out;
  EXPECT_EQ(doctor.out.find("accept writes"), std::string::npos) << doctor.out;

  // The old primary started again as it was: two servers of the list take
  // writes, and hosts could sign in against either. doctor says so.
  ASSERT_NO_FATAL_FAILURE(StartServer());
  doctor = RunAdmin({"--verbose", "doctor"});
  EXPECT_NE(doctor.exit_code, 0);
  EXPECT_NE(doctor.out.find("error: postgres_dsn: 2 servers of the list accept writes (127.0.0.1 "
                            "port " +
                            standby_port_ + ", 127.0.0.1 port " + private_["PG_PORT"] + ")"),
            std::string::npos)
      << doctor.out;
  SKIP_WITHOUT_LOGS();
}

TEST_F(PostgresFaultsTest, AServerThatNeverAnswersIsGivenUpAfterTheConnectTimeout) {
  std::string port;
  const int listener = SilentListener(&port);
  ASSERT_GE(listener, 0) << std::strerror(errno);
  const std::string server = "host=127.0.0.1 port=" + port;
  ASSERT_NO_FATAL_FAILURE(WriteConfig({
      {"store", "postgres"},
      {"postgres_dsn", server + " dbname=sesame user=sesame"},
      {"postgres_connect_timeout", std::to_string(kConnectTimeout)},
  }));
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE("sign-in " + std::to_string(i + 1));
    const size_t mark = DevLog().Mark();
    const auto start = Clock::now();
    PamRun run = RunPam(kService, "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
    const double took = SecondsSince(start);
    EXPECT_PAM_CODES(run, PAM_AUTHINFO_UNAVAIL);
    // It waited for the server (so the listener was really silent), and
    // no longer than the bound. libpq counts connect_timeout in whole
    // seconds of time(): its deadline is time() + 2 at the start, so a
    // start late in a second ends just over 1 s later (a refused
    // connection ends in milliseconds).
    EXPECT_GE(took, kConnectTimeout - 1.0);
    EXPECT_LT(took, kConnectTimeout + kMarginSeconds);
    if (DevLog().available()) {
      std::vector<LogLine> lines = DevLog().Since(mark);
      std::vector<LogLine> naming = Matching(lines, server);
      EXPECT_EQ(naming.size(), 1u) << "one line naming the server\n" << Dump(lines);
      EXPECT_TRUE(AnyContains(naming, "timeout expired")) << Dump(lines);
    }
  }
  close(listener);
  SKIP_WITHOUT_LOGS();
}

// A dead machine first in a list of servers (it answers nothing, not even
// a refusal; here a socket that listens and never reads) costs the
// connection that finds it postgres_connect_timeout. The primary reached
// after it is remembered in runtime_dir/postgres-primary, so the next
// connections (each sshd sign-in is a new process) try it first and never
// wait for the dead one: the listener counts who came. A hint that is
// missing, not ours, or names no server of the list is ignored (the DSN's
// order) and rewritten. With the remembered primary down, the rest of the
// list is still tried.
TEST_F(PostgresFaultsTest, ADeadServerFirstInTheListCostsOneConnectionNotEvery) {
  ASSERT_NO_FATAL_FAILURE(SetUpFleetHost());
  std::string dead_port;
  const int listener = SilentListener(&dead_port);
  ASSERT_GE(listener, 0) << std::strerror(errno);
  ASSERT_NO_FATAL_FAILURE(WriteConfig({
      {"store", "postgres"},
      {"postgres_dsn", "host=127.0.0.1,127.0.0.1 port=" + dead_port + "," + private_["PG_PORT"] +
                           " dbname=sesame user=sesame sslrootcert=" + private_["PG_CA"]},
      {"postgres_passfile", state_dir_ + "/pgpass"},
      {"postgres_connect_timeout", std::to_string(kConnectTimeout)},
      {"postgres_statement_timeout", std::to_string(kStatementTimeout)},
  }));
  const std::string hint = runtime_dir_ + "/postgres-primary";
  std::vector<int> came;  // kept open, never answered
  auto visits = [&] {
    for (int fd; (fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) came.push_back(fd);
    return came.size();
  };
  // One sign-in in a new process (a new connection), as sshd makes one.
  auto sign_in_anew = [&](const std::string& what) {
    pid_t pid = ForkWarmPamChild(what);
    if (pid == 0) ExitChild(DirectSignIn(kService, "alice", kPassword, nullptr, false).auth);
    if (pid < 0) return -1;
    const int status = WaitChild(pid, what);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  auto read_hint = [&] {
    std::ifstream in(hint);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  };
  const std::string remembered = "host=127.0.0.1\nhostaddr=\nport=" + private_["PG_PORT"] + "\n";

  EXPECT_EQ(sign_in_anew("the first sign-in"), PAM_SUCCESS);
  EXPECT_EQ(visits(), 1u) << "the DSN's order: the dead server first";
  EXPECT_NE(read_hint().find(remembered), std::string::npos) << read_hint();
  struct stat st {};
  ASSERT_EQ(stat(hint.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, geteuid());

  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(sign_in_anew("a sign-in after the first"), PAM_SUCCESS);
    EXPECT_EQ(visits(), 1u) << "the remembered primary first: the dead server is not waited for";
  }

  // The control: without the hint the dead server is waited for again.
  ASSERT_EQ(unlink(hint.c_str()), 0);
  EXPECT_EQ(sign_in_anew("a sign-in without the hint"), PAM_SUCCESS);
  EXPECT_EQ(visits(), 2u);
  EXPECT_NE(read_hint().find(remembered), std::string::npos) << "written again";

  // A hint others could have written, or naming no server of the list,
  // is ignored and replaced.
  ASSERT_EQ(chmod(hint.c_str(), 0666), 0);
  EXPECT_EQ(sign_in_anew("a sign-in with a world-writable hint"), PAM_SUCCESS);
  EXPECT_EQ(visits(), 3u);
  ASSERT_EQ(stat(hint.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "replaced";
  ASSERT_TRUE(WriteFile(hint, "host=127.0.0.1\nhostaddr=\nport=1\n", 0600));
  EXPECT_EQ(sign_in_anew("a sign-in with a hint naming another server"), PAM_SUCCESS);
  EXPECT_EQ(visits(), 4u);
  EXPECT_NE(read_hint().find(remembered), std::string::npos) << read_hint();

  // The remembered primary down: the rest of the list is still tried, and
  // the sign-in fails closed. Up again: remembered still.
  ASSERT_NO_FATAL_FAILURE(StopServer());
  EXPECT_EQ(sign_in_anew("a sign-in with the primary down"), PAM_AUTHINFO_UNAVAIL);
  EXPECT_EQ(visits(), 5u) << "the dead server was tried after the remembered one";
  ASSERT_NO_FATAL_FAILURE(StartServer());
  EXPECT_EQ(sign_in_anew("a sign-in with the primary back"), PAM_SUCCESS);
  EXPECT_EQ(visits(), 5u);
  for (int fd : came) close(fd);
  close(listener);
}

// A server named by a host name that the name server never answers
// (core/store/postgres/postgres_lookup.cc): libpq's connect_timeout does
// not cover its own lookup, which glibc would wait out for 5 s a try.
// Here /etc/resolv.conf names a UDP socket of this test that reads
// nothing (bound over this private mount namespace's resolv.conf only).
// Each sign-in fails closed within postgres_connect_timeout, and the
// second, while the first lookup still waits in the resolver's thread,
// waits for that one: the name server gets no new query.
TEST_F(PostgresFaultsTest, AnUnansweredServerNameIsGivenUpInTimeAndAskedOnce) {
  if (!InPrivateMountNamespace()) {
    GTEST_SKIP() << "not in a private mount namespace (tests/pam/run_isolated.sh): "
                    "/etc/resolv.conf cannot be replaced for this process alone";
  }
  const int dns = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(dns, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(53);
  ASSERT_EQ(inet_pton(AF_INET, "127.0.0.3", &addr.sin_addr), 1);
  ASSERT_EQ(bind(dns, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  // One try of 5 s: the first lookup asks at its start and then only waits.
  const std::string resolv = state_dir_ + "/resolv.conf";
  ASSERT_TRUE(WriteFile(resolv, "nameserver 127.0.0.3\noptions timeout:5 attempts:1\n", 0644));
  ASSERT_EQ(mount(resolv.c_str(), "/etc/resolv.conf", nullptr, MS_BIND, nullptr), 0)
      << std::strerror(errno);
  struct Unmount {
    ~Unmount() { umount2("/etc/resolv.conf", MNT_DETACH); }
  } unmount;
  // Queries that reached the name server so far (read and counted).
  int queries = 0;
  auto count = [&] {
    char packet[1500];
    while (recv(dns, packet, sizeof packet, MSG_DONTWAIT) > 0) ++queries;
    return queries;
  };

  server_ = "host=db.sesame-faults.test";
  ASSERT_NO_FATAL_FAILURE(WriteConfig({
      {"store", "postgres"},
      {"postgres_dsn", server_ + " port=5432 dbname=sesame user=sesame"},
      {"postgres_connect_timeout", std::to_string(kConnectTimeout)},
  }));
  ExpectFailsClosed("first", kConnectTimeout,
                    "no answer for the name \"db.sesame-faults.test\" within 2 s", 1);
  const int asked = count();
  EXPECT_GT(asked, 0) << "the lookup did not reach the test's name server";
  ExpectFailsClosed("second, the first lookup still waiting", kConnectTimeout,
                    "no answer for the name \"db.sesame-faults.test\"", 1);
  EXPECT_EQ(count(), asked) << "the second sign-in asked the name server again";
  close(dns);
  SKIP_WITHOUT_LOGS();
}

TEST_F(PostgresFaultsTest, ConfigErrorsAreRefusedWithAClearLogLineAndCrashNothing) {
  std::string why;
  std::map<std::string, std::string> facts = PostgresClusterFacts(&why);
  ASSERT_FALSE(facts.empty()) << why;
  const std::string tcp = "host=127.0.0.1 port=" + facts["PG_PORT"] + " dbname=sesame user=sesame";
  const std::string readable = state_dir_ + "/pgpass-readable";
  ASSERT_TRUE(WriteFile(
      readable,
      "127.0.0.1:" + facts["PG_PORT"] + ":sesame:sesame:" + facts["PG_SESAME_PASSWORD"] + "\n",
      0640));
  const std::string secret = "s3cret-in-the-dsn";
  struct Case {
    std::string name;
    std::map<std::string, std::string> config;
    std::string said;  // in the log line
  };
  const std::vector<Case> cases = {
      {"a password in the DSN",
       {{"postgres_dsn", tcp + " sslrootcert=" + facts["PG_CA"] + " password=" + secret}},
       "postgres_dsn contains a password"},
      {"a passfile its group can read",
       {{"postgres_dsn", tcp + " sslrootcert=" + facts["PG_CA"]}, {"postgres_passfile", readable}},
       readable +
           " (postgres_passfile) is readable by group or others but holds a secret: "
           "chmod 0400 " +
           readable},
      {"sslmode=disable to a TCP host",
       {{"postgres_dsn", tcp + " sslmode=disable"}},
       "postgres_dsn says sslmode=disable for a TCP host (127.0.0.1)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::map<std::string, std::string> config = c.config;
    config["store"] = "postgres";
    ASSERT_NO_FATAL_FAILURE(WriteConfig(config));
    const size_t mark = DevLog().Mark();
    PamRun run = RunPam(kService, "alice", {kPassword}, {{PAMTEST_AUTHENTICATE, PAM_SUCCESS}});
    EXPECT_PAM_CODES(run, PAM_AUTHINFO_UNAVAIL);
    EXPECT_EQ(run.conv.Prompts(), std::vector<std::string>{})
        << "refused before asking for a password";
    if (DevLog().available()) {
      std::vector<LogLine> lines = DevLog().Since(mark);
      EXPECT_EQ(Matching(lines, c.said).size(), 1u) << Dump(lines);
      EXPECT_FALSE(AnyContains(lines, secret)) << "the password was logged\n" << Dump(lines);
    }
  }
  // The same process, a right config: signs in.
  const std::string dsn = SharedDatabase();
  ASSERT_FALSE(dsn.empty());
  ASSERT_NO_FATAL_FAILURE(WriteConfig({{"store", "postgres"}, {"postgres_dsn", dsn}}));
  ASSERT_NO_FATAL_FAILURE(Admin({"init"}));
  ASSERT_NO_FATAL_FAILURE(AddUser("alice", kPassword));
  EXPECT_EQ(PamCodeName(SignIn(kPassword)), PamCodeName(PAM_SUCCESS));
  SKIP_WITHOUT_LOGS();
}

#else  // !SESAME_WITH_POSTGRES

// The rule of SESAME_SKIP_UNAVAILABLE_BACKEND (tests/fakes/store_backends.h),
// for a build without the backend.
TEST(PostgresFaultsTest, NeedsThePostgresBackend) {
  const std::string why =
      "this build has no PostgreSQL backend (libpq was not found when it was configured; "
      "install libpq-dev)";
  const char* require = std::getenv("SESAME_REQUIRE_POSTGRES");
  if (require != nullptr && std::string(require) == "1") {
    FAIL() << why << " (SESAME_REQUIRE_POSTGRES=1: not skipped)";
  }
  GTEST_SKIP() << why;
}

#endif  // SESAME_WITH_POSTGRES

}  // namespace
}  // namespace sesame::pam_testing
