import CSCore
import CSRedis
import CSServer
import Logging
import ServiceLifecycle

/// Owns a fair share of the inbound partitions under leases in Redis and runs one worker per
/// owned partition. A dispatcher that dies stops renewing; its partitions move to the others
/// once the leases expire, and the new owner finishes what the old one left pending.
public struct Dispatcher: Service {
    let configuration: DispatcherConfiguration
    let redis: RedisClient
    let routing: RoutingClient
    /// The loop of `redis`, where the partition workers run (no thread hop per Redis reply).
    let executor: EventLoopTaskExecutor
    let logger: Logger

    init(configuration: DispatcherConfiguration, redis: RedisClient, routing: RoutingClient, executor: EventLoopTaskExecutor, logger: Logger) {
        self.configuration = configuration
        self.redis = redis
        self.routing = routing
        self.executor = executor
        self.logger = logger
    }

    public func run() async throws {
        try await withTaskExecutorPreference(executor) { try await runOnExecutor() }
    }

    private func runOnExecutor() async throws {
        var leases: [Int: PartitionLease] = [:]
        try await withThrowingDiscardingTaskGroup { group in
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                do {
                    try await balance(&leases) { lease in
                        var workerLogger = logger
                        workerLogger[metadataKey: "partition"] = "\(lease.partition)"
                        let worker = PartitionWorker(
                            lease: lease, configuration: configuration, redis: redis, routing: routing, eventLoop: executor.eventLoop,
                            logger: workerLogger)
                        group.addTask { await worker.run() }
                    }
                } catch {
                    logger.warning("lease round failed", metadata: ["error": "\(error)"])
                }
                try? await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: .milliseconds(configuration.leaseMilliseconds / 3))
                }
            }
            for lease in leases.values { lease.requestStop() }
        }
        // Every worker has stopped: give the leases up so others take over at once. One pipeline:
        // with Redis down, shutdown waits for one connect timeout, not one per partition (the
        // leases then simply expire).
        var goodbye: [[RedisArgument]] = leases.keys.map { partition in
            LeaseScripts.release.callCommand(keys: [.init(RedisKeys.lease(partition: partition))], arguments: [.init(configuration.dispatcherID)])
        }
        goodbye.append(["ZREM", .init(RedisKeys.dispatchers), .init(configuration.dispatcherID)])
        // Best effort: leases not given up here expire by themselves.
        _ = try? await redis.pipeline(goodbye)
    }

    /// One round: heartbeat, renew what we own, take free partitions up to our share, hand back extras.
    private func balance(_ leases: inout [Int: PartitionLease], start: (PartitionLease) -> Void) async throws {
        let now = nowMilliseconds()
        let ttl = configuration.leaseMilliseconds
        let replies = try await redis.pipeline([
            ["ZADD", .init(RedisKeys.dispatchers), .init(now + ttl), .init(configuration.dispatcherID)],
            ["ZREMRANGEBYSCORE", .init(RedisKeys.dispatchers), "-inf", .init(now)],
            ["ZCARD", .init(RedisKeys.dispatchers)],
        ]).checked()
        let live = max(replies.last?.int ?? 1, 1)
        let share = (configuration.partitions + live - 1) / live

        // Finished workers (stopped or lost their lease) give their partition up.
        for (partition, lease) in leases where lease.isFinished {
            leases[partition] = nil
            _ = try? await redis.callFunction(
                LeaseScripts.release, keys: [.init(RedisKeys.lease(partition: partition))], arguments: [.init(configuration.dispatcherID)])
        }
        for (partition, lease) in leases where !lease.isStopRequested {
            // Another token means the lease lapsed and was taken again (maybe by someone else in
            // between): the worker's token is stale, so it stops and a fresh worker starts later.
            if try await tryAcquire(partition, at: now) == lease.token {
                lease.renewed(at: now, leaseMilliseconds: ttl)
            } else {
                logger.warning("lease lost", metadata: ["partition": "\(partition)"])
                lease.requestStop()
            }
        }
        let active = leases.values.filter { !$0.isStopRequested }
        if active.count > share {
            for lease in active.sorted(by: { $0.partition > $1.partition }).prefix(active.count - share) { lease.requestStop() }
        } else if active.count < share {
            var wanted = share - active.count
            // Start at a different partition per dispatcher so they do not all race for the same ones.
            let offset = Partitioner(count: configuration.partitions).partition(forCustomer: configuration.dispatcherID)
            for step in 0..<configuration.partitions where wanted > 0 {
                let partition = (offset + step) % configuration.partitions
                guard leases[partition] == nil else { continue }
                let token = try await tryAcquire(partition, at: now)
                guard token > 0 else { continue }
                let lease = PartitionLease(partition: partition, token: token)
                lease.renewed(at: now, leaseMilliseconds: ttl)
                leases[partition] = lease
                start(lease)
                wanted -= 1
            }
        }
    }

    /// The lease's fencing token when we hold it (now or already), else 0.
    private func tryAcquire(_ partition: Int, at now: Int) async throws -> Int {
        let reply = try await redis.callFunction(
            LeaseScripts.acquire, keys: [.init(RedisKeys.lease(partition: partition)), .init(RedisKeys.fence(partition: partition))],
            arguments: [.init(configuration.dispatcherID), .init(configuration.leaseMilliseconds)])
        return reply.int ?? 0
    }
}
