#pragma once
// StreamSocket: one connected TCP socket on an EventLoop, with everything every connection
// handler needs of it and nothing about what the bytes mean: connect (or adopt an accepted
// socket), receive, send with a queue, backpressure, half-close, close, and deletion deferred
// until the kernel is done with it.
// A protocol object (lb4's relay, one per side; gw7's client and upstream connections, its Redis
// client; the health probe) holds one as a member and hears its events through
// StreamSocket::Handler.
//
// Receiving: with a provided buffer ring, one multishot recv stays armed for the socket's life:
// each arrival completes into a ring buffer that goes back to the kernel as soon as the handler
// has seen it (OnSocketData's view is valid only during the call), so an exchange costs no
// re-arming and an idle socket holds no receive buffer. Each arming takes at most kMultishotCap
// from the ring (Linux >= 6.17; older kernels refuse the cap once and are armed without it). When
// the ring is empty (-ENOBUFS) or there is none, a single recv into a buffer of the socket's own
// is used; with a ring that buffer is freed again at once.
// Options::single_shot (gw7's clients: a request, then nothing until its response has left) arms
// one recv at a time instead. It names no buffer: the kernel picks a ring buffer when bytes
// arrive, so an idle socket still holds none. When the handler expects much input
// (Handler::WantsLargeReceive: a body, a tunnel), after a receive that filled its buffer, or
// when the ring was empty, the socket's own kRecvBufferSize buffer takes the bytes; it is kept
// while large receives follow and freed at the next small one.
// Unless the last receive filled its buffer, a receive waits for data before trying
// (IORING_RECVSEND_POLL_FIRST); the first one of an adopted (accepted) socket tries at once, since
// a new client has usually sent its request already.
//
// Sending: Send() queues; one send is in flight at a time, a short send is followed by the rest,
// and OnSocketSendDrained says when everything queued has left. Between Cork() and Uncork() Send()
// only queues (a head and its first body bytes leave in one send; gw7 corks a client's socket
// until the end of the loop's pass, so that many streams' responses leave in one send). With
// Options::send_buffers the queue's storage is lent by the loop's StringPool while bytes wait and
// handed back by ReturnIdleBuffers(), so that an idle connection holds none.
//
// Half-close: by default the peer's EOF ends the socket (OnSocketEnd(0), closed). With
// Options::half_close it only ends reading: the handler hears OnSocketEnd(0) with the socket still
// open, may go on sending (a response to a client that shut its write side after the request),
// and calls Close() when done. ShutdownWrite() is our side's half-close.
//
// Backpressure: PauseRead() cancels the multishot receive (or stops re-arming a single one);
// bytes already on their way are held (at most a few buffers' worth, copied so that the ring is
// not starved) and handed over, from the loop and not inside ResumeRead(), once reading resumes.
// The peer's EOF never overtakes held bytes.
//
// Relaying without copies (Options::keep_buffers, lb4's relay): each received buffer is handed to
// the handler (OnSocketBuffer), which keeps it and passes it to another socket's SendBuffer(); it
// goes back to the ring once sent from there. The handler decides at each arming how to receive
// (Handler::NextReceive: a multishot stream of buffers, capped at Options::multishot_cap; one
// buffer; or none, its backpressure), and CancelReceive() ends a multishot stream early. The
// -ENOBUFS fallback receives into an allocation of the ring's buffer size, handed over the same
// way. Buffers queued with SendBuffer() (and bytes given to Send(), copied into one) leave
// with send, or sendmsg when several wait. Poll() waits until the socket is readable or writable
// (a handler that moves bytes itself, with splice(2), on fd()), counted in the socket's lifetime.
//
// Lifetime (completion.h's rule, kept here once): Close() shuts the socket down (and cancels a
// connect still in flight: a connect timeout) and detaches the handler from data events; when the
// last operation in flight has completed, the handler hears OnSocketReleased() and may then delete
// the object the socket is part of. After the loop has stopped for good no completion comes:
// LoopStopped() releases every closed socket at once. The descriptor is closed at the release;
// Connect() or Adopt() may then start the object over (lb4 pools its relays and retries a
// backend on the same socket object).

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "common/net/address.h"
#include "common/uring/buffer_ring.h"
#include "common/uring/completion.h"
#include "common/uring/event_loop.h"
#include "common/uring/string_pool.h"

namespace edge::uring {

class StreamSocket final : public IoHandler {
 public:
  // Options::keep_buffers: received bytes in a buffer the handler keeps. `bid` >= 0: a ring
  // buffer; -1: `heap` owns the allocation (a fallback receive's, or bytes Send() copied). `data`
  // moves forward while a send takes the buffer in parts.
  struct Buffer {
    char* data;
    uint32_t len;
    int32_t bid;
    char* heap;
  };
  enum class ReceiveMode : uint8_t {
    kNone,    // not now (the handler's backpressure): armed again when it calls Receive()
    kOne,     // one buffer
    kStream,  // multishot, up to multishot_cap before it is armed again
  };

  class Handler {
   public:
    virtual ~Handler() = default;
    // The connect finished: 0, or a negative errno (the socket is then closed).
    virtual void OnSocketConnected(int error) = 0;
    // Bytes from the peer, valid only during the call.
    virtual void OnSocketData(std::string_view data) = 0;
    // The peer closed (0) or the socket failed (negative errno); it is closed now. Not heard
    // after the handler's own Close().
    virtual void OnSocketEnd(int error) = 0;
    // Everything queued so far has been sent.
    virtual void OnSocketSendDrained() = 0;
    // After Close(): no operation is in flight any more; the owner of the socket may be freed.
    virtual void OnSocketReleased() = 0;
    // Single-shot receiving: asked as each receive is armed. True when much input is due (a
    // request body, a tunnel): the receive takes the socket's own buffer, not a ring buffer.
    virtual bool WantsLargeReceive() { return false; }
    // A send completed (bytes moved: progress for a send timeout, room for a paused producer);
    // OnSocketSendDrained follows when nothing is left.
    virtual void OnSocketSent() {}
    // A receive found the ring empty (-ENOBUFS); the next one uses the socket's own buffer.
    virtual void OnSocketRingEmpty() {}

    // Options::keep_buffers only:
    // Bytes from the peer in a buffer the handler now owns: it passes it to a socket's
    // SendBuffer() or gives it back with ReleaseBuffer().
    virtual void OnSocketBuffer(const Buffer& buffer) { (void)buffer; }
    // Asked as each receive is armed: how to receive next.
    virtual ReceiveMode NextReceive() { return ReceiveMode::kStream; }
    // The socket became readable (out false) or writable (out true) after Poll().
    virtual void OnSocketPoll(bool out) { (void)out; }
  };

  struct Options {
    bool single_shot = false;            // one recv at a time (see the top of this file)
    bool half_close = false;             // the peer's EOF ends reading only
    StringPool* send_buffers = nullptr;  // lends the send queue's storage (the loop's)
    bool keep_buffers = false;           // the handler keeps received buffers (see above)
    unsigned multishot_cap = 0;          // bytes per multishot arming; 0: kMultishotCap
  };

  static constexpr size_t kRecvBufferSize = 32 * 1024;
  // Bytes one multishot arming may take from the ring before it ends and is armed again.
  static constexpr unsigned kMultishotCap = 64 * 1024;

  // `buffers` may be null (single recvs into the socket's own buffer only); it and
  // `options.send_buffers` must outlive the socket.
  StreamSocket(EventLoop* loop, Handler* handler, ProvidedBufferRing* buffers)
      : StreamSocket(loop, handler, buffers, Options{}) {}
  StreamSocket(EventLoop* loop, Handler* handler, ProvidedBufferRing* buffers,
               const Options& options)
      : loop_(loop),
        handler_(handler),
        buffers_(buffers),
        send_buffers_(options.send_buffers),
        multishot_cap_(options.multishot_cap != 0 ? options.multishot_cap : kMultishotCap),
        single_shot_(options.single_shot),
        half_close_(options.half_close),
        keep_buffers_(options.keep_buffers) {}
  ~StreamSocket() override;
  StreamSocket(const StreamSocket&) = delete;
  StreamSocket& operator=(const StreamSocket&) = delete;

  // Creates a socket and submits its connect; the handler hears OnSocketConnected.
  absl::Status Connect(const net::SocketAddress& peer);
  // Takes over an already-connected socket (one a listener accepted), which the socket then
  // owns and closes. It is connected at once: there is no OnSocketConnected, since the owner
  // already knows, and receiving starts now. Called once, instead of Connect().
  void Adopt(int fd);

  void Send(std::string_view data);
  // keep_buffers: queues a received buffer (this socket's or another's, same ring), which is
  // given back once sent, or at the release if never sent.
  void SendBuffer(const Buffer& buffer);
  // Gives back a buffer OnSocketBuffer handed over.
  void ReleaseBuffer(const Buffer& buffer);
  // keep_buffers: arms a receive if none is (after NextReceive said kNone); ends a multishot one.
  void Receive();
  void CancelReceive();
  // A single-shot poll for readability (out false) or room to send (out true): OnSocketPoll.
  void Poll(bool out);
  void Cork() { corked_ = true; }
  void Uncork();
  size_t queued() const {
    return pending_.size() + (sending_.size() - sent_) + (chunks_ != nullptr ? chunks_->bytes : 0);
  }
  // keep_buffers: buffers waiting to be sent (or in flight).
  size_t queued_buffers() const {
    return chunks_ != nullptr ? chunks_->queue.size() - chunks_->head : 0;
  }
  // Nothing queued or in flight: the send queue's storage goes back to Options::send_buffers.
  void ReturnIdleBuffers();
  void PauseRead();
  void ResumeRead();
  // Once everything queued has been sent, shut the write side; reading goes on. Send() after it
  // is ignored.
  void ShutdownWrite();
  // Shuts the socket down; OnSocketReleased follows once the kernel is done with it.
  void Close();
  // The loop has stopped for good: every closed socket is released now, and from then on
  // Close() releases at once.
  static void LoopStopped();

  bool connected() const { return connected_; }
  bool closed() const { return closing_; }
  bool peer_ended() const { return read_eof_; }    // half_close: the peer's EOF has come
  bool write_shut() const { return write_shut_; }  // ShutdownWrite() has taken effect
  bool receiving() const { return recv_armed_; }
  bool sending() const { return send_armed_; }
  // The socket's last failure (OnSocketEnd with an error) was a send's, not a receive's.
  bool send_failed() const { return send_failed_; }
  // Open, or closed with operations still in flight: not yet released.
  bool busy() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  enum Op : uint8_t {
    kOpConnect = 1,
    kOpRecv = 2,
    kOpSend = 3,
    kOpClose = 4,
    kOpHeld = 5,
    kOpPollIn = 6,
    kOpPollOut = 7,
  };
  // keep_buffers: the send queue while buffers wait, lent by a per-thread cache and handed back
  // when it drains (TakeQueue, ReturnQueue), so that an idle connection holds none and an
  // exchange allocates nothing.
  static constexpr size_t kMaxSendIov = 8;  // buffers one sendmsg takes
  struct BufferQueue {
    absl::InlinedVector<Buffer, 4> queue;
    size_t head = 0;  // queue[head..] are pending
    size_t bytes = 0;
    // The sendmsg when several buffers wait (valid while in flight).
    msghdr msg;
    iovec iov[kMaxSendIov];
  };
  static std::unique_ptr<BufferQueue> TakeQueue();
  static void ReturnQueue(std::unique_ptr<BufferQueue> queue);
  static std::vector<std::unique_ptr<BufferQueue>>& SpareQueues();
  static std::vector<StreamSocket*>& ClosingSockets();
  void JoinClosing();
  void LeaveClosing();
  static constexpr uint32_t kNotClosing = UINT32_MAX;
  void Start(int fd);  // Connect()/Adopt(): a fresh socket (after an earlier release too)
  void FlushBuffers();
  void OnBuffersSent(size_t n);
  void ArmKeptRecv();
  void DropBuffers();
  void ReleaseNow();  // released without waiting (the loop has stopped)
  void OnCompletion(uint8_t op, int32_t res, uint32_t flags) override;
  void ArmRecv();
  void OnRecv(int32_t res, uint32_t flags);
  void Deliver(std::string_view data);
  void FlushSend();
  void HoldLastSend();
  void Fail(int error);  // closes, then tells the handler
  void PeerEnded();      // the peer's EOF (after any held bytes)
  void MaybeRelease();
  bool has_held() const { return held_ != nullptr && !held_->empty(); }

  // Laid out small: gw7 keeps one per idle keep-alive client (see l7/server/client_connection.h).
  EventLoop* loop_;
  Handler* handler_;
  ProvidedBufferRing* buffers_;          // null: single recvs into recv_buffer_
  StringPool* send_buffers_;             // null: the send queue owns its storage
  std::unique_ptr<char[]> recv_buffer_;  // made on first use
  std::unique_ptr<std::string> held_;    // received while paused (rare: made on first use)
  std::unique_ptr<BufferQueue> chunks_;  // keep_buffers' send queue (only while buffers wait)
  std::string pending_;                  // queued, not yet submitted
  std::string sending_;                  // submitted; sent_ bytes of it done
  size_t sent_ = 0;
  int fd_ = -1;
  int inflight_ = 0;
  unsigned multishot_cap_;
  uint32_t closing_index_ = kNotClosing;  // in ClosingSockets() while closed and not released
  unsigned send_sqe_ = 0;                 // the send's Ring::LastSqePosition (HoldLastSend)
  bool single_shot_ : 1;
  bool half_close_ : 1;
  bool keep_buffers_ : 1;
  bool recv_cancelled_ : 1 = false;  // a cancel of the armed multishot recv is on its way
  bool send_failed_ : 1 = false;
  bool connected_ : 1 = false;
  bool connecting_ : 1 = false;  // the connect is in flight
  bool recv_armed_ : 1 = false;
  bool multishot_ : 1 = false;         // the armed recv is the multishot one
  bool multishot_capped_ : 1 = false;  // and was armed with kMultishotCap
  bool eof_held_ : 1 = false;          // the peer closed while held_ had bytes: the end after them
  bool ring_empty_ : 1 = false;   // the last receive ended with -ENOBUFS: one own-buffer recv next
  bool held_posted_ : 1 = false;  // a NOP is on its way to hand held_ over
  bool last_recv_full_ : 1 = false;  // the next receive tries at once, into a large buffer
  bool try_recv_now_ : 1 = false;    // Adopt(): the first receive tries at once
  bool read_eof_ : 1 = false;        // half_close: the peer's EOF came; no more receives
  bool send_armed_ : 1 = false;
  bool read_paused_ : 1 = false;
  bool corked_ : 1 = false;
  bool shutdown_write_ : 1 = false;  // ShutdownWrite() was called
  bool write_shut_ : 1 = false;      // and the socket's write side is shut
  bool closing_ : 1 = false;
  bool close_submitted_ : 1 = false;
  bool released_ : 1 = false;
};

}  // namespace edge::uring
