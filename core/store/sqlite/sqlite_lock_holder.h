// Who holds a SQLite store's write lock, and ending that holder when it is
// halted (stopped or frozen) while it holds it.
//
// Why: every sign-in writes (the attempt is counted before the password is
// checked), and SQLite has one write lock per file. su and sudo run with
// their caller as real uid, so the caller may SIGSTOP them; systemd
// delegates cgroups to users, who may freeze whatever runs in them, the
// setuid tool included. A process halted inside a write transaction keeps
// the lock, and every sign-in on the host then waits out the busy timeout
// and fails, for as long as the halted process's owner likes. PostgreSQL
// ends such a session on the server (idle_in_transaction_session_timeout);
// here the next writer that has waited long enough ends it with SIGKILL.
// The kernel drops a dead process's locks and SQLite ignores what it had
// not committed, so its change is rolled back whole.
//
// Only a process seen halted (core/base/process_state.h: every thread
// stopped, or frozen; not one stopped by a debugger) at two looks at least
// the grace apart, both times holding a lock, is ended; a running holder,
// however slow (a throttled cgroup), is waited for as before. The signal
// goes through a pidfd opened before the last look, so a pid reused in
// between is never signalled. Nothing is ended where this process's /proc
// shows another pid namespace's pids (its pids would not be ours).
#ifndef SESAME_CORE_STORE_SQLITE_SQLITE_LOCK_HOLDER_H_
#define SESAME_CORE_STORE_SQLITE_SQLITE_LOCK_HOLDER_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sesame {
namespace sqlite_internal {

// One file whose POSIX write locks block a writer: its device as
// /proc/locks shows it (the file system's; stat()'s st_dev differs on
// btrfs subvolumes, so the mount's MAJ:MIN from mountinfo is kept too), its
// inode, and the byte range SQLite locks in it.
struct LockedRange {
  unsigned long long devices[2][2] = {{0, 0}, {0, 0}};  // {major, minor}, two spellings
  unsigned long long inode = 0;
  unsigned long long first = 0;
  unsigned long long last = 0;
};

// The pids with a POSIX write lock overlapping one of `ranges`, from the
// text of /proc/locks (lines "N: POSIX ADVISORY WRITE PID MAJ:MIN:INODE
// START END"; waiters' "->" lines, read locks, OFD and flock locks are not
// counted). Each pid once, pid 0 (not visible here) never.
std::vector<pid_t> ParseProcLocks(std::string_view proc_locks,
                                  const std::vector<LockedRange>& ranges);

// The pids holding a write lock that keeps a writer of the database at
// `db_path` waiting (SQLite's unix VFS): on the database file, the
// PENDING, RESERVED and SHARED bytes from 0x40000000 (a connection that
// closes takes them while it checkpoints and removes the WAL); on DB-shm,
// bytes 120 to 128 (the WAL write, checkpoint, recovery and read locks,
// and the one a connection opening or closing the -shm holds). Read from
// /proc/locks; both files are only stat()ed, never opened: closing any
// descriptor of a file drops all of this process's POSIX locks on it,
// SQLite's own among them. Empty when nothing is held or it cannot be read.
std::vector<pid_t> StoreLockHolders(const std::string& db_path);

// Watches a wait for the write lock of one database and ends its holder
// when it is halted. One per connection; Look() is called from the busy
// handler while it waits.
class HaltedHolderWatch {
 public:
  explicit HaltedHolderWatch(int64_t grace_ms) : grace_ms_(grace_ms) {}

  // A new wait begins: forget the holder seen before.
  void Reset() { seen_pid_ = 0; }

  // One look at `db_path`'s lock holders at monotonic time `now_ms`. Ends
  // the first halted one (SIGKILL, one syslog line) when it was seen halted
  // at a look at least grace_ms earlier and is still halted and holding a
  // lock now. Returns whether it sent the signal.
  bool Look(const std::string& db_path, int64_t now_ms);

 private:
  int64_t grace_ms_;
  pid_t seen_pid_ = 0;
  int64_t seen_since_ms_ = 0;
};

}  // namespace sqlite_internal
}  // namespace sesame

#endif  // SESAME_CORE_STORE_SQLITE_SQLITE_LOCK_HOLDER_H_
