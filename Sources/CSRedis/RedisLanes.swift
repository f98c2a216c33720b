import Logging
import NIOCore
import NIOPosix

/// One ``RedisClient`` per event loop of a group, for a hot path that starts on an event loop: a
/// command sent from a loop goes out on that loop's own connection, and its reply comes back on
/// the same thread, so neither direction hops between threads (a thread wake each; at the rates
/// real deployments run, such hops were most of a gateway's cost per chat message).
public struct RedisLanes: Sendable {
    private let clients: [ObjectIdentifier: RedisClient]
    /// For callers on no loop of the group (a task): any lane would do; this one is fixed.
    public let fallback: RedisClient

    /// Creates one client per loop of `group`, named `<clientName>-l<k>`; each connects at its
    /// first command (a loop's first chat message takes the task path, which waits for it).
    public init(configuration: RedisConfiguration, group: any EventLoopGroup, logger: Logger) {
        var clients: [ObjectIdentifier: RedisClient] = [:]
        var first: RedisClient?
        for (index, loop) in group.makeIterator().enumerated() {
            var laneConfiguration = configuration
            laneConfiguration.clientName = configuration.clientName.map { "\($0)-l\(index)" }
            let client = RedisClient(configuration: laneConfiguration, eventLoopGroup: loop, logger: logger)
            clients[ObjectIdentifier(loop)] = client
            first = first ?? client
        }
        self.clients = clients
        self.fallback = first ?? RedisClient(configuration: configuration, eventLoopGroup: group, logger: logger)
    }

    /// The client whose connection lives on `loop` (the fallback for a loop of another group).
    public func client(for loop: ObjectIdentifier) -> RedisClient {
        clients[loop] ?? fallback
    }

    /// The client of the calling thread's loop, or the fallback off the group's loops.
    public var current: RedisClient {
        MultiThreadedEventLoopGroup.currentEventLoop.map { client(for: ObjectIdentifier($0)) } ?? fallback
    }
}
