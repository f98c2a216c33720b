import CSCore
import CSServer
import NIOCore
import NIOWebSocket

/// Where a `LocalConnection` writes its frames: the socket's channel (`ChannelConnectionOutput`)
/// or, in unit tests, a recorder.
///
/// Everything but `schedule` runs only inside a body passed to `schedule`, which for a channel
/// is its event loop: writes then need no lock and no task, and keep the order they were
/// scheduled in.
protocol ConnectionOutput: Sendable {
    /// Names the output's thread: bodies scheduled on outputs with the same `thread` run on one
    /// thread, in the order they were scheduled (a broadcast schedules one body per thread).
    var thread: ObjectIdentifier { get }
    /// Runs `body` on the output's thread, after every body scheduled before it.
    func schedule(_ body: @escaping @Sendable () -> Void)
    /// Writes whole encoded text frames (`TextFrame.encode`) with one flush; returns the bytes
    /// still waiting to go out (written but not yet taken by the kernel).
    func write(_ frames: [ByteBuffer]) -> Int
    /// Writes one encoded broadcast frame with its own flush, like `write`, but leaves it out of
    /// the process' statistics: a broadcast counts its frames once per thread (`countWritten`).
    func write(broadcast frame: ByteBuffer) -> Int
    /// Counts frames written with `write(broadcast:)`.
    func countWritten(_ frames: Int)
    /// Writes a close frame; when `cutAfter` is set, closes the socket that long after whether or
    /// not the client answered (a client that does not read never takes the close frame).
    func close(code: ChatCloseCode, reason: String, cutAfter: TimeAmount?)
}

/// Writes straight to the WebSocket channel on its event loop: no task and no async queue per
/// connection, and one flush for everything queued since the last one.
///
/// Frames are encoded when queued and go out through `RawFrameWriter` at the socket end of the
/// pipeline; closes enter at its tail, so `ChatWebSocketHandler` notes them on their way.
struct ChannelConnectionOutput: ConnectionOutput {
    let channel: any Channel
    let writer: RawFrameWriter
    let stats: ProcessStats

    var thread: ObjectIdentifier { ObjectIdentifier(channel.eventLoop) }

    func schedule(_ body: @escaping @Sendable () -> Void) {
        channel.eventLoop.execute(body)
    }

    func write(_ frames: [ByteBuffer]) -> Int {
        writer.write(frames)
        for frame in frames {
            stats.messageOut()
            if let committedAt = WebSocketSession.commitTimeOfMessage(TextFrame.payload(of: frame)) {
                stats.latency.recordMilliseconds(max(0, nowMilliseconds() - committedAt))
            }
        }
        return bufferedBytes
    }

    func write(broadcast frame: ByteBuffer) -> Int {
        writer.write(frame)
        return bufferedBytes
    }

    func countWritten(_ frames: Int) {
        if frames > 0 { stats.messageOut(frames) }
    }

    /// Bytes written but not yet taken by the kernel; 0 while the channel is writable (below
    /// NIO's high-water mark, 64 KiB: far under `GatewayConfiguration.maxQueuedBytes`). Asking
    /// the channel for the exact number costs more than the write of a small frame.
    private var bufferedBytes: Int {
        channel.isWritable ? 0 : (try? channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    func close(code: ChatCloseCode, reason: String, cutAfter: TimeAmount?) {
        let code = WebSocketErrorCode(codeNumber: Int(code.rawValue))
        channel.writeAndFlush(WebSocketFrame.close(code, reason: reason, allocator: channel.allocator), promise: nil)
        if let cutAfter {
            let channel = self.channel
            channel.eventLoop.scheduleTask(in: cutAfter) { channel.close(promise: nil) }
        }
    }
}

extension WebSocketFrame {
    /// A close frame: the code, then the reason (at most 123 bytes of UTF-8 by RFC 6455; ours are
    /// short fixed texts).
    static func close(_ code: WebSocketErrorCode, reason: String = "", allocator: ByteBufferAllocator) -> WebSocketFrame {
        var data = allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        return WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
    }
}
