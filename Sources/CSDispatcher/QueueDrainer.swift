import CSCore
import CSRedis
import CSServer
import Logging
import ServiceLifecycle

/// Hands waiting conversations to agents who have capacity again, and takes conversations back
/// from agents who did not return within the grace period.
///
/// It wakes when someone rings the doorbell list (`cs:{agents}:wake`: an agent came online or
/// got more capacity) and at least every `interval`. The scripts decide atomically in Redis; each
/// decision is then written to the conversation's partition stream, so that the partition's
/// owner announces it in the conversation's order.
struct QueueDrainer: Service {
    let routing: RoutingClient
    let configuration: DispatcherConfiguration
    let logger: Logger

    func run() async throws {
        var doorbellConfiguration = configuration.redis
        doorbellConfiguration.clientName = "\(configuration.dispatcherID)-drain"
        doorbellConfiguration.commandTimeout = .milliseconds(configuration.drainIntervalMilliseconds) + configuration.redis.commandTimeout
        let doorbell = RedisClient(configuration: doorbellConfiguration, logger: logger)
        let partitioner = Partitioner(count: configuration.partitions)
        var rounds = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let seconds = Double(configuration.drainIntervalMilliseconds) / 1000
                _ = try await doorbell.send("BLPOP", .init(RedisKeys.drainWakeup), .init(String(seconds)))
                let requeued = try await routing.expireAgents(graceMilliseconds: configuration.presenceGraceMilliseconds)
                let refused = try await Self.append(
                    requeued.map { InboundEntry(kind: .requeued, conversationID: $0.conversationID, agentID: $0.agentID) },
                    redis: routing.redis, partitioner: partitioner)
                if !refused.isEmpty {
                    // The routing is requeued already and a drain will assign and announce it; only
                    // the `conversation.queued` in between is lost. Said loudly, not retried.
                    logger.error("\(EntriesRefused(kind: "requeued", failures: refused.map { ($0.0.conversationID, $0.1) }))")
                }
                if !requeued.isEmpty { logger.notice("requeued conversations of absent agents", metadata: ["count": "\(requeued.count)"]) }
                let assigned = try await Self.drainOnce(routing: routing, partitioner: partitioner)
                // Estimates drift as time passes: refresh every waiting customer now and then.
                rounds += 1
                if assigned > 0 || !requeued.isEmpty || rounds % 20 == 0 { try await QueuePositions.publishAll(routing: routing) }
            } catch {
                logger.warning("queue drain failed", metadata: ["error": "\(error)"])
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(500)) }
            }
        }
        await doorbell.close()
    }

    /// One drain pass; returns how many conversations were assigned.
    @discardableResult
    static func drainOnce(routing: RoutingClient, partitioner: Partitioner) async throws -> Int {
        let assignments = try await routing.drain(limit: 100)
        let failed = try await append(
            assignments.map { InboundEntry(kind: .assigned, conversationID: $0.conversationID, agentID: $0.agentID) },
            redis: routing.redis, partitioner: partitioner)
        guard !failed.isEmpty else { return assignments.count }
        // An assignment whose entry Redis refused would exist with nobody told about it: give it
        // back (the conversation returns to the head of its queue, as an agent's transfer to its
        // skill would put it) so that a later drain assigns it again.
        for (entry, _) in failed {
            _ = try await routing.transfer(
                conversationID: entry.conversationID, expectedAgent: entry.agentID, toAgent: nil, toSkill: nil)
        }
        throw EntriesRefused(kind: "assigned", failures: failed.map { ($0.0.conversationID, $0.1) })
    }

    /// Writes routing decisions to their conversations' partitions; returns the entries whose XADD
    /// Redis refused (an error reply, e.g. WRONGTYPE or OOM), with the error. If the pipeline fails
    /// as a whole after the script ran, the owner still repairs it: routing a queued conversation
    /// again finds the recorded assignment (see `PartitionWorker.route`).
    @discardableResult
    static func append(_ entries: [InboundEntry], redis: RedisClient, partitioner: Partitioner) async throws -> [(InboundEntry, RedisError)] {
        var sent: [InboundEntry] = []
        var commands: [[RedisArgument]] = []
        for entry in entries {
            guard let partition = partitioner.partition(forConversation: entry.conversationID) else { continue }
            var command: [RedisArgument] = ["XADD", .init(RedisKeys.inbound(partition: partition)), "*"]
            for (name, value) in entry.fields { command += [.init(name), .init(value)] }
            commands.append(command)
            sent.append(entry)
        }
        guard !commands.isEmpty else { return [] }
        let replies = try await redis.pipeline(commands)
        return zip(sent, replies).compactMap { entry, reply in reply.redisError.map { (entry, $0) } }
    }

    /// Redis refused some routing entries (logged by the drain loop, counted in `redis_reply_errors`).
    struct EntriesRefused: Error, CustomStringConvertible {
        let kind: String
        let failures: [(conversationID: String, error: RedisError)]
        var description: String {
            "\(failures.count) \(kind) entries refused by Redis: "
                + failures.prefix(5).map { "\($0.conversationID): \($0.error)" }.joined(separator: ", ")
        }
    }
}
