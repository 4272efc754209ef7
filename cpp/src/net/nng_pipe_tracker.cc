#include "net/nng_pipe_tracker.h"

#include <utility>

namespace convergent::internal {

bool PipeTracker::QuietLocked(const std::string& url) {
  auto it = quiet.find(url);
  if (it == quiet.end()) return false;
  if (Clock::now() < it->second) return true;
  quiet.erase(it);
  return false;
}

PipeTracker::Todo PipeTracker::RetireLocked(int push_socket, Push& p) {
  Todo todo;
  todo.push_socket = push_socket;
  p.retired = true;
  p.retired_flag->store(true);
  if (p.dialer_closed) return todo;
  if (p.pipe != 0) {
    nng_pipe pipe = NNG_PIPE_INITIALIZER;
    pipe.id = p.pipe;
    todo.pipes.push_back(pipe);  // its removal closes the dialer
  } else if (p.connected || Clock::now() - p.dialed >= kFirstDialGrace) {
    // Redialing a peer that is gone: nothing is negotiating.
    p.dialer_closed = true;
    ++p.closing_dialer;
    todo.dialer = p.dialer;
  }  // else its first connection is on its way: refused when it comes
  return todo;
}

void PipeTracker::TakeDeferredLocked(const std::string& url, Todo* todo) {
  auto it = deferred.find(url);
  if (it == deferred.end()) return;
  for (const auto& [socket, p] : push) {
    if (p.url == url && p.InFlight()) return;
  }
  for (uint32_t id : it->second) {
    nng_pipe pipe = NNG_PIPE_INITIALIZER;
    pipe.id = id;
    todo->pipes.push_back(pipe);
  }
  deferred.erase(it);
}

void PipeTracker::Do(const Todo& todo) {
  for (nng_pipe pipe : todo.pipes) nng_pipe_close(pipe);  // NNG_ENOENT if gone already
  if (nng_dialer_id(todo.dialer) <= 0) return;
  nng_dialer_close(todo.dialer);
  std::lock_guard lock(mu);
  if (auto it = push.find(todo.push_socket); it != push.end()) --it->second.closing_dialer;
  changed.notify_all();
}

void PipeTracker::OnBusPipe(nng_pipe p, nng_pipe_ev ev, void* arg) {
  auto* t = static_cast<PipeTracker*>(arg);
  const uint32_t id = static_cast<uint32_t>(nng_pipe_id(p));
  const nng_dialer d = nng_pipe_dialer(p);
  bool refuse = false, close_dialer = false;
  {
    std::lock_guard lock(t->mu);
    t->last_event = Clock::now();
    auto dialer = t->dialers.find(nng_dialer_id(d));
    Dialer* ours = dialer == t->dialers.end() ? nullptr : &dialer->second;
    if (ev == NNG_PIPE_EV_ADD_PRE) {
      if (ours != nullptr) ours->connected = true;
      refuse = t->closing || (ours != nullptr && ours->drop);
      if (!refuse) t->bus.emplace(id, false);
    } else if (ev == NNG_PIPE_EV_ADD_POST) {
      if (auto it = t->bus.find(id); it != t->bus.end()) it->second = true;
    } else {
      t->bus.erase(id);  // also one refused, or one the protocol did not start
      uint32_t hung_up = id;
      t->excluded.compare_exchange_strong(hung_up, 0);
      for (auto& [url, pipes] : t->deferred) std::erase(pipes, id);
      // While closing, or after its node's bye, the dialer closes rather than redial (at once
      // half the time): it must not be negotiating when a listener or the socket closes.
      close_dialer = ours != nullptr && !ours->closed && (t->closing || ours->drop);
      if (close_dialer) ours->closed = true;
    }
    t->changed.notify_all();
  }
  // Refused before bus0 reads from it: nothing can be arriving.
  if (refuse) nng_pipe_close(p);
  if (close_dialer) nng_dialer_close(d);
}

void PipeTracker::OnPullPipe(nng_pipe p, nng_pipe_ev ev, void* arg) {
  auto* t = static_cast<PipeTracker*>(arg);
  const uint32_t id = static_cast<uint32_t>(nng_pipe_id(p));
  bool refuse = false;
  {
    std::lock_guard lock(t->mu);
    t->last_event = Clock::now();
    if (ev == NNG_PIPE_EV_ADD_PRE) {
      refuse = t->closing;
      if (!refuse) t->pull.insert(id);
    } else if (ev == NNG_PIPE_EV_REM_POST) {
      t->pull.erase(id);
      t->changed.notify_all();
    }
  }
  if (refuse) nng_pipe_close(p);
}

void PipeTracker::OnPushPipe(nng_pipe p, nng_pipe_ev ev, void* arg) {
  auto* t = static_cast<PipeTracker*>(arg);
  const uint32_t id = static_cast<uint32_t>(nng_pipe_id(p));
  const int socket = nng_socket_id(nng_pipe_socket(p));
  Todo todo;
  bool refuse = false;
  {
    std::lock_guard lock(t->mu);
    t->last_event = Clock::now();
    auto it = t->push.find(socket);
    if (it == t->push.end()) return;  // the socket is closing
    Push& push = it->second;
    if (ev == NNG_PIPE_EV_ADD_PRE) {
      push.connected = true;
      refuse = push.retired;
      if (!refuse) push.pipe = id;
    } else if (ev == NNG_PIPE_EV_REM_POST) {
      if (push.pipe == id) push.pipe = 0;
      if (push.retired && !push.dialer_closed) {
        push.dialer_closed = true;
        ++push.closing_dialer;
        todo.dialer = nng_pipe_dialer(p);
        todo.push_socket = socket;
        t->TakeDeferredLocked(push.url, &todo);
      }
    }
    t->changed.notify_all();
  }
  if (refuse) nng_pipe_close(p);
  t->Do(todo);
}

void KeepForever(const std::shared_ptr<PipeTracker>& t) {
  static std::mutex mu;
  static auto* kept = new std::vector<std::shared_ptr<PipeTracker>>;
  std::lock_guard lock(mu);
  kept->push_back(t);
}

bool DialerOpen(nng_dialer d) {
  nng_duration ms = 0;
  return nng_dialer_get_ms(d, NNG_OPT_RECONNMINT, &ms) == 0;  // NNG_ENOENT once closed
}

}  // namespace convergent::internal
