import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A plain TCP client that writes HTTP bytes slowly and measures when the server hangs up: for
/// the gateway's request-head timeout (slow headers, idle keep-alive connections).
public enum SlowHTTPClient {
    /// What the server did: the bytes it sent, and whether (and when) it closed the connection.
    public struct Outcome: Sendable, CustomStringConvertible {
        public var received: String
        /// Time from connecting to the server's EOF; nil when it kept the connection to the end.
        public var closedAfter: Duration?
        public var description: String { "closed after \(closedAfter.map { "\($0)" } ?? "never"), received \(received.prefix(300).debugDescription)" }
    }

    /// Connects, writes `chunks` one by one with `pause` between them (and nothing after them),
    /// and waits until the server closes or `limit` has passed since connecting.
    public static func trickle(port: Int, chunks: [String], pause: Duration, limit: Duration) async throws -> Outcome {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let start = ContinuousClock.now
        let received = ReceivedBytes()
        return try await channel.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Outcome?.self) { group in
                group.addTask {
                    do {
                        for try await chunk in inbound { received.text.withLock { $0 += String(buffer: chunk) } }
                    } catch {
                        // A reset is a close too.
                    }
                    return Outcome(received: received.text.withLock { $0 }, closedAfter: ContinuousClock.now - start)
                }
                group.addTask {
                    for chunk in chunks {
                        do { try await outbound.write(ByteBuffer(string: chunk)) } catch { break }
                        try await Task.sleep(for: pause)
                    }
                    try await Task.sleep(until: start + limit)
                    return nil
                }
                let first = try await group.next() ?? nil
                group.cancelAll()
                return first ?? Outcome(received: received.text.withLock { $0 }, closedAfter: nil)
            }
        }
    }
}

/// What the server sent so far, shared by the reading task and the caller.
private final class ReceivedBytes: Sendable {
    let text = Mutex("")
}
