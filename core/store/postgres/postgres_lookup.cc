// PostgreSQL backend: the server's names looked up within
// postgres_connect_timeout (see postgres_internal.h, "Name lookups").
//
// MUST rules:
//  - a lookup never holds a sign-in longer than the timeout: what has not
//    answered by then is given up (gai_cancel), and one still running in
//    the resolver's thread is left there, its request kept alive until it
//    is done (its memory belongs to that thread until then);
//  - one lookup of a name at a time in a process: a call that finds one
//    still running (given up by an earlier call) waits for it instead of
//    starting another, so a name server that never answers holds one of
//    glibc's resolver threads per name, not one per sign-in;
//  - a request is only reaped by the process that made it: after fork()
//    the child's copy of a running request never finishes, so it is kept;
//  - the list of waiting lookups is locked by the callers' threads only,
//    never by the resolver's;
//  - the system's own resolution (getaddrinfo: /etc/hosts, nsswitch,
//    resolv.conf) decides the addresses, in its order, as libpq's would.
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/store/postgres/postgres_internal.h"

namespace sesame {
namespace postgres_internal {
namespace {

bool IsAddress(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), buffer) == 1) return true;
  if (inet_pton(AF_INET6, host.c_str(), buffer) == 1) return true;
  // An IPv6 address with a zone (fe80::1%eth0), which getaddrinfo takes
  // without a lookup.
  const size_t zone = host.find('%');
  return zone != std::string::npos &&
         inet_pton(AF_INET6, host.substr(0, zone).c_str(), buffer) == 1;
}

// One getaddrinfo_a request and what it points to: the resolver's thread
// reads and writes it until gai_error() says it is done. Shared: a lookup
// given up while still running stays in Waiting(), and a later call for
// the same name waits for that one instead of starting another.
struct Request {
  std::string name;
  addrinfo hints{};
  gaicb cb{};
  pid_t owner = 0;
  Request() = default;
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request() {
    if (cb.ar_result != nullptr) freeaddrinfo(cb.ar_result);
  }
};
using RequestPtr = std::shared_ptr<Request>;

// Lookups given up while still running (see the MUST rules). Only the
// callers' threads lock this, never the resolver's.
std::mutex& WaitingMutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}
std::vector<RequestPtr>& Waiting() {
  static auto* list = new std::vector<RequestPtr>;
  return *list;
}

bool Running(const RequestPtr& r) { return gai_error(&r->cb) == EAI_INPROGRESS; }

// Drops the finished ones of this process; returns this process's running
// lookup of `name`, if there is one.
RequestPtr StillWaitingFor(const std::string& name) {
  std::lock_guard<std::mutex> lock(WaitingMutex());
  std::vector<RequestPtr>& list = Waiting();
  const pid_t me = getpid();
  list.erase(std::remove_if(list.begin(), list.end(),
                            [me](const RequestPtr& r) { return r->owner == me && !Running(r); }),
             list.end());
  for (const RequestPtr& r : list) {
    if (r->owner == me && r->name == name) return r;
  }
  return nullptr;
}

void KeepWaiting(RequestPtr request) {
  std::lock_guard<std::mutex> lock(WaitingMutex());
  Waiting().push_back(std::move(request));
}

std::string NumericAddress(const addrinfo* ai) {
  char text[NI_MAXHOST];
  if (getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0)
    return "";
  return text;
}

}  // namespace

std::vector<HostEntry> ListHostEntries(const std::string& host, const std::string& hostaddr,
                                       const std::string& port) {
  const std::vector<std::string> hosts =
      host.empty() ? std::vector<std::string>() : SplitList(host);
  const std::vector<std::string> addrs =
      hostaddr.empty() ? std::vector<std::string>() : SplitList(hostaddr);
  const std::vector<std::string> ports =
      port.empty() ? std::vector<std::string>() : SplitList(port);
  const size_t n = std::max(hosts.size(), addrs.size());
  std::vector<HostEntry> entries;
  if (n == 0) return entries;
  if (!hosts.empty() && !addrs.empty() && hosts.size() != addrs.size()) return entries;
  if (ports.size() > 1 && ports.size() != n) return entries;
  for (size_t i = 0; i < n; ++i) {
    entries.push_back(HostEntry{hosts.empty() ? "" : hosts[i], addrs.empty() ? "" : addrs[i],
                                ports.size() > 1 ? ports[i] : ""});
  }
  return entries;
}

HostPlan PlanHostLookups(const std::string& host, const std::string& hostaddr,
                         const std::string& port) {
  HostPlan plan;
  if (host.empty()) return plan;  // hostaddr alone, or the default socket
  plan.entries = ListHostEntries(host, hostaddr, port);
  plan.per_host_ports = !plan.entries.empty() && port.find(',') != std::string::npos;
  for (size_t i = 0; i < plan.entries.size(); ++i) {
    const HostEntry& e = plan.entries[i];
    const bool name = !e.host.empty() && e.host[0] != '/' && e.host[0] != '@' &&
                      e.hostaddr.empty() && !IsAddress(e.host);
    if (name) plan.lookups.push_back(i);
  }
  if (plan.lookups.empty()) plan.entries.clear();
  return plan;
}

HostKeywords ExpandHostEntries(const HostPlan& plan, const std::vector<LookupResult>& results,
                               std::string* errors) {
  std::vector<std::string> hosts;
  std::vector<std::string> addrs;
  std::vector<std::string> ports;
  errors->clear();
  size_t next = 0;  // into plan.lookups and results
  for (size_t i = 0; i < plan.entries.size(); ++i) {
    const HostEntry& e = plan.entries[i];
    if (next < plan.lookups.size() && plan.lookups[next] == i) {
      const LookupResult& found = next < results.size() ? results[next] : LookupResult{};
      ++next;
      if (found.addresses.empty()) {
        if (!errors->empty()) *errors += "; ";
        *errors += found.error.empty() ? "no address for the name \"" + e.host + "\"" : found.error;
        continue;
      }
      for (const std::string& address : found.addresses) {
        hosts.push_back(e.host);
        addrs.push_back(address);
        ports.push_back(e.port);
      }
      continue;
    }
    hosts.push_back(e.host);
    addrs.push_back(e.hostaddr);
    ports.push_back(e.port);
  }
  HostKeywords keywords;
  if (hosts.empty()) return keywords;
  keywords.host = JoinList(hosts);
  keywords.hostaddr = JoinList(addrs);
  if (plan.per_host_ports) keywords.port = JoinList(ports);
  return keywords;
}

std::vector<LookupResult> LookUpNames(const std::vector<std::string>& names, int timeout_ms) {
  std::vector<LookupResult> results(names.size());
  std::vector<RequestPtr> requests(names.size());
  std::vector<bool> mine(names.size(), false);  // started by this call
  std::vector<gaicb*> start;
  for (size_t i = 0; i < names.size(); ++i) {
    requests[i] = StillWaitingFor(names[i]);
    if (requests[i] != nullptr) continue;  // wait for that one
    auto r = std::make_shared<Request>();
    r->name = names[i];
    // As libpq asks (any family, stream sockets); the port does not change
    // which addresses a name has, so none is given.
    r->hints.ai_family = AF_UNSPEC;
    r->hints.ai_socktype = SOCK_STREAM;
    r->cb.ar_name = r->name.c_str();
    r->cb.ar_request = &r->hints;
    r->owner = getpid();
    start.push_back(&r->cb);
    requests[i] = std::move(r);
    mine[i] = true;
  }
  if (!start.empty()) {
    const int started =
        getaddrinfo_a(GAI_NOWAIT, start.data(), static_cast<int>(start.size()), nullptr);
    if (started != 0) {
      // A failure as a whole (no memory, no thread); any request queued
      // before it still runs and is kept until done.
      for (size_t i = 0; i < names.size(); ++i) {
        if (!mine[i]) continue;
        if (Running(requests[i]) && gai_cancel(&requests[i]->cb) != EAI_CANCELED &&
            Running(requests[i]))
          KeepWaiting(requests[i]);
        results[i].error = "cannot look up the name \"" + names[i] + "\": " + gai_strerror(started);
        requests[i] = nullptr;
      }
    }
  }

  // Waits by looking at gai_error() with short sleeps, not gai_suspend():
  // in glibc 2.36 a gai_suspend() that ends just as a lookup finishes may
  // leave its wait entry (on its own stack) in the request, and the
  // resolver's thread then writes through it after the call has returned
  // (seen here: a crash in __gai_notify). Without gai_suspend no wait
  // entry exists. A name in /etc/hosts is answered within the first
  // sleeps; the sleeps grow to 2 ms, so the deadline is kept to 2 ms.
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  int64_t nap_ns = 20000;
  for (;;) {
    bool running = false;
    for (const RequestPtr& r : requests) running = running || (r != nullptr && Running(r));
    if (!running) break;
    const int64_t left =
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    timespec nap{};
    nap.tv_nsec = std::min(nap_ns, left);  // both under 1 s
    nanosleep(&nap, nullptr);
    nap_ns = std::min<int64_t>(nap_ns * 2, 2000000);
  }

  const std::string seconds = std::to_string((timeout_ms + 999) / 1000);
  for (size_t i = 0; i < names.size(); ++i) {
    if (requests[i] == nullptr) continue;  // not started: its error is set
    Request& r = *requests[i];
    int state = gai_error(&r.cb);
    if (state == EAI_INPROGRESS && mine[i] && gai_cancel(&r.cb) == EAI_CANCELED) {
      state = EAI_CANCELED;
    } else if (state == EAI_INPROGRESS) {
      state = gai_error(&r.cb);  // it may have ended meanwhile
    }
    if (state == EAI_INPROGRESS || state == EAI_CANCELED) {
      results[i].error = "no answer for the name \"" + names[i] + "\" within " + seconds +
                         " s (postgres_connect_timeout): the name service (DNS, "
                         "/etc/resolv.conf) did not answer; give the server's address as "
                         "hostaddr= beside host=, or list the name in /etc/hosts";
      if (state == EAI_INPROGRESS && mine[i]) KeepWaiting(requests[i]);
      continue;
    }
    if (state != 0) {
      results[i].error =
          "could not translate host name \"" + names[i] + "\" to address: " + gai_strerror(state);
      continue;
    }
    for (const addrinfo* ai = r.cb.ar_result; ai != nullptr; ai = ai->ai_next) {
      const std::string address = NumericAddress(ai);
      if (address.empty()) continue;
      std::vector<std::string>& found = results[i].addresses;
      if (std::find(found.begin(), found.end(), address) == found.end()) found.push_back(address);
    }
    if (results[i].addresses.empty())
      results[i].error = "could not translate host name \"" + names[i] + "\" to address";
  }
  return results;
}

}  // namespace postgres_internal
}  // namespace sesame
