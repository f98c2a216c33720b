import CSCore
import CSRedis
import CSServer
import Logging
import ServiceLifecycle

/// Hands waiting conversations to agents who have capacity again (an agent came online, got more
/// capacity, or a conversation closed).
///
/// The drain script assigns atomically in Redis; each assignment is then written to the
/// conversation's partition stream, so its owner announces it in the conversation's order.
struct QueueDrainer: Service {
    let routing: RoutingClient
    let redis: RedisClient
    let partitioner: Partitioner
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await Self.drainOnce(routing: routing, redis: redis, partitioner: partitioner)
            } catch {
                logger.warning("queue drain failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One drain pass.
    static func drainOnce(routing: RoutingClient, redis: RedisClient, partitioner: Partitioner) async throws {
        let assignments = try await routing.drain(limit: 100)
        guard !assignments.isEmpty else { return }
        var commands: [[RedisArgument]] = []
        for (conversationID, agentID) in assignments {
            guard let partition = partitioner.partition(forConversation: conversationID) else { continue }
            let entry = InboundEntry(kind: .assigned, conversationID: conversationID, agentID: agentID)
            var command: [RedisArgument] = ["XADD", .init(RedisKeys.inbound(partition: partition)), "*"]
            for (name, value) in entry.fields { command += [.init(name), .init(value)] }
            commands.append(command)
        }
        // If this fails after the script, the owner still repairs it: routing a queued
        // conversation again finds the recorded assignment (see PartitionWorker.route).
        _ = try await redis.pipeline(commands)
    }
}
