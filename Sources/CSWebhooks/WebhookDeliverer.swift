import CSCore
import CSRedis
import CSServer
import Logging
import NIOCore
import ServiceLifecycle

/// Delivers the webhook event stream (docs/operations.md "Webhooks").
///
/// Any number of processes run; one holds `cs:{webhooks}:lease` and delivers, the others wait to
/// take over. The holder reads `cs:{webhooks}:events` in consumer group `webhooks`; on taking
/// over it first claims (XAUTOCLAIM) every entry another consumer read and never acknowledged,
/// and reads its own pending entries, so nothing a dead holder had in hand is lost. Each entry
/// becomes one delivery per endpoint wanting it, queued in its lane (endpoint, conversation):
/// lanes go one delivery at a time, in stream order, concurrently with each other
/// (`DeliveryPlan`). An entry is acknowledged (XACK) once every delivery of it got a 2xx or went
/// to a dead letter. One delivering process keeps per-conversation order simple and strict;
/// it posts concurrently across conversations, which is where webhook throughput comes from.
public struct WebhookDeliverer: Service {
    let configuration: WebhookConfiguration
    let redis: RedisClient
    let poster: WebhookPoster
    let logger: Logger

    init(configuration: WebhookConfiguration, redis: RedisClient, poster: WebhookPoster, logger: Logger) {
        self.configuration = configuration
        self.redis = redis
        self.poster = poster
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if try await renewLease() {
                    logger.info("webhook lease taken: delivering")
                    await deliverWhileLeader()
                    logger.info("webhook delivery stopped")
                }
            } catch {
                logger.warning("webhook lease round failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(configuration.leaseMilliseconds / 3)) }
        }
        _ = try? await redis.callFunction(
            WebhookScripts.leaseRelease, keys: [.init(RedisKeys.webhookLease)], arguments: [.init(configuration.processID)])
    }

    private func renewLease() async throws -> Bool {
        try await redis.callFunction(
            WebhookScripts.lease, keys: [.init(RedisKeys.webhookLease)],
            arguments: [.init(configuration.processID), .init(configuration.leaseMilliseconds)]
        ).int == 1
    }

    /// Reads and delivers until the lease is lost or the process stops.
    private func deliverWhileLeader() async {
        var readerConfiguration = configuration.redis
        readerConfiguration.clientName = configuration.processID + "-reader"
        readerConfiguration.commandTimeout = .milliseconds(1_000) + configuration.redis.commandTimeout
        let reader = RedisClient(configuration: readerConfiguration, logger: logger)
        let state = DeliveryState(pauseAfterMilliseconds: configuration.pauseAfterMilliseconds)
        let renewEvery = configuration.leaseMilliseconds / 3
        // Stop delivering well before the lease could lapse without our noticing.
        let safety = max(configuration.leaseMilliseconds / 5, 100)
        await withDiscardingTaskGroup { group in
            var leaseUntil = nowMilliseconds() + configuration.leaseMilliseconds
            var renewedAt = nowMilliseconds()
            var refreshedAt = 0
            var cursor = "0"
            var claimed = false
            var backoff = 100
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                do {
                    let now = nowMilliseconds()
                    if now - renewedAt >= renewEvery {
                        guard try await renewLease() else {
                            logger.warning("webhook lease lost")
                            break
                        }
                        renewedAt = now
                        leaseUntil = now + configuration.leaseMilliseconds
                    }
                    guard now < leaseUntil - safety else { break }
                    if now - refreshedAt >= configuration.endpointRefreshMilliseconds {
                        state.update(try await WebhookRegistry(redis: redis).list())
                        refreshedAt = now
                    }
                    if !claimed {
                        try await claimEverything(reader)
                        claimed = true
                    }
                    try await acknowledge(state.takeFinished(), on: reader)
                    if state.entriesInFlight >= configuration.maxInFlight {
                        try await Task.sleep(for: .milliseconds(50))
                        continue
                    }
                    let entries = try await read(reader, after: cursor)
                    if cursor != ">" { cursor = entries.last?.id ?? ">" }
                    for entry in entries {
                        guard let event = WebhookEvent(fields: entry.fields) else {
                            logger.warning("dropping undecodable webhook event", metadata: ["entry": "\(entry.id)"])
                            _ = state.add(entryID: entry.id, event: .init(id: "", type: .message, conversationID: "", body: ""), endpointIDs: [])
                            continue
                        }
                        let recipients = state.recipients(of: event.type, to: entry.fields["to"])
                        for lane in state.add(entryID: entry.id, event: event, endpointIDs: recipients) {
                            group.addTask { await runLane(lane, state: state) }
                        }
                    }
                    backoff = 100
                } catch {
                    logger.warning("webhook reading failed; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .milliseconds(backoff))
                    backoff = min(backoff * 2, 2_000)
                }
            }
            state.deactivate()
            group.cancelAll()
        }
        // Whatever finished before the end; the rest stays pending for the next holder.
        do { try await acknowledge(state.takeFinished(), on: reader) } catch {
            logger.warning("finished webhook events left unacknowledged; they will be delivered again", metadata: ["error": "\(error)"])
        }
        await reader.close()
    }

    /// Creates the group (from the stream's start) and takes over every entry another consumer
    /// (a dead holder) read and never acknowledged; they come back in our pending list, in order.
    private func claimEverything(_ reader: RedisClient) async throws {
        do {
            _ = try await reader.send("XGROUP", "CREATE", .init(RedisKeys.webhookEvents), .init(RedisKeys.webhookGroup), "0", "MKSTREAM")
        } catch let error as RedisError where error.redisErrorPrefix == "BUSYGROUP" {}
        var cursor = "0-0"
        repeat {
            let reply = try await reader.send(
                "XAUTOCLAIM", .init(RedisKeys.webhookEvents), .init(RedisKeys.webhookGroup), .init(configuration.processID), "0",
                .init(cursor), "COUNT", "1000", "JUSTID")
            if let error = reply.redisError { throw error }
            cursor = reply.array?.first?.string ?? "0-0"
        } while cursor != "0-0"
    }

    /// Our pending entries after `cursor` (an id), or new ones (`>`, blocking up to 1 s).
    private func read(_ reader: RedisClient, after cursor: String) async throws -> [(id: String, fields: [String: String])] {
        var command: [RedisArgument] = [
            "XREADGROUP", "GROUP", .init(RedisKeys.webhookGroup), .init(configuration.processID), "COUNT", .init(configuration.batchSize),
        ]
        if cursor == ">" { command += ["BLOCK", "1000"] }
        command += ["STREAMS", .init(RedisKeys.webhookEvents), .init(cursor)]
        let reply = try await reader.send(command)
        if let error = reply.redisError { throw error }
        guard let entries = reply.array?.first?.array?.last?.array else { return [] }
        return entries.compactMap { entry in
            guard let parts = entry.array, let id = parts.first?.string else { return nil }
            return (id, parts.count > 1 && !parts[1].isNull ? parts[1].fieldMap : [:])
        }
    }

    private func acknowledge(_ ids: [String], on reader: RedisClient) async throws {
        guard !ids.isEmpty else { return }
        try await reader.pipeline([["XACK", .init(RedisKeys.webhookEvents), .init(RedisKeys.webhookGroup)] + ids.map { .init($0) }]).checked()
    }

    /// Delivers a lane's deliveries one after the other until it is empty or the leadership ends.
    private func runLane(_ lane: DeliveryPlan.Lane, state: DeliveryState) async {
        repeat {
            guard let delivery = state.head(of: lane), await deliver(delivery, state: state) else { return }
        } while state.finishHead(of: lane)
    }

    /// One delivery until it is done: true when delivered, dead-lettered or dropped (its
    /// endpoint removed); false when the leadership ended first (it stays pending).
    private func deliver(_ delivery: DeliveryPlan.Delivery, state: DeliveryState) async -> Bool {
        let firstAttemptAt = nowMilliseconds()
        var attempts = 0
        var lastError = ""
        while state.isActive && !Task.isCancelled {
            guard let endpoint = state.endpoint(delivery.endpointID) else { return true }
            if state.isPaused(endpoint.id) {
                return await deadLetter(delivery, error: "endpoint paused" + (lastError.isEmpty ? "" : "; last error: " + lastError), attempts: attempts, state: state)
            }
            let outcome = await poster.post(delivery.event, to: endpoint, nowSeconds: Int64(nowMilliseconds() / 1000))
            guard state.isActive else { return false }
            attempts += 1
            let now = nowMilliseconds()
            switch outcome {
            case .delivered:
                state.succeeded(endpoint.id)
                configuration.stats.messageOut()
                return true
            case .failed(let error):
                lastError = error
                let verdict = state.failed(endpoint.id, now: now)
                let registry = WebhookRegistry(redis: redis)
                if verdict.recordError { try? await registry.recordFailure(endpoint.id, error: error, now: now) }
                if verdict.pause {
                    logger.warning("webhook endpoint keeps failing: paused", metadata: ["endpoint": "\(endpoint.id)", "error": "\(error)"])
                    _ = try? await registry.setPaused(endpoint.id, paused: true, reason: .failing, now: now)
                    state.markPaused(endpoint.id)
                    continue
                }
                guard let next = configuration.retry.nextAttempt(
                    afterFailures: attempts, firstAttemptAt: firstAttemptAt, now: now, random: Double.random(in: 0..<1))
                else {
                    return await deadLetter(delivery, error: error, attempts: attempts, state: state)
                }
                // Sleep in short steps, to notice a pause, a removal or the end of the leadership.
                while state.isActive, !state.isPaused(endpoint.id), state.endpoint(endpoint.id) != nil, nowMilliseconds() < next {
                    try? await Task.sleep(for: .milliseconds(min(250, max(1, next - nowMilliseconds()))))
                }
            }
        }
        return false
    }

    private func deadLetter(_ delivery: DeliveryPlan.Delivery, error: String, attempts: Int, state: DeliveryState) async -> Bool {
        while state.isActive && !Task.isCancelled {
            do {
                try await WebhookDeadLetters(redis: redis).add(
                    endpointID: delivery.endpointID, event: delivery.event, entryID: delivery.entryID, error: error, attempts: attempts,
                    now: nowMilliseconds())
                logger.warning(
                    "webhook delivery dead-lettered",
                    metadata: ["endpoint": "\(delivery.endpointID)", "event": "\(delivery.event.id)", "error": "\(error)"])
                return true
            } catch {
                try? await Task.sleep(for: .seconds(1))
            }
        }
        return false
    }
}
