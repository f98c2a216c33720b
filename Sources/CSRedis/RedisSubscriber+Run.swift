import Logging
import NIOCore

extension RedisSubscriber {
    /// Keeps the connection up — connect, authenticate, resubscribe everything, back off and retry
    /// after failures — until the task is cancelled or ``close()`` is called. Run it as one
    /// long-running task (e.g. inside a swift-service-lifecycle `Service`); it returns normally on
    /// cancellation or close, after which the subscriber is closed and ``events`` finished.
    /// - Throws: ``RedisError/Code/clientClosed`` if the subscriber is already closed or running.
    public func run() async throws {
        try self.state.withLockedValue { state in
            guard !state.closed, !state.running else {
                throw RedisError(code: .clientClosed, message: "the Redis subscriber is closed or already running")
            }
            state.running = true
        }
        defer { self.shutdown() }
        await withTaskCancellationHandler {
            await self.runConnectionLoop()
        } onCancel: {
            self.shutdown()
        }
    }

    private func runConnectionLoop() async {
        var failures = 0
        var everConnected = false
        var logger = self.logger
        logger[metadataKey: "redis.address"] = "\(self.configuration.host):\(self.configuration.port)"
        let continuation = self.continuation

        while !self.state.withLockedValue({ $0.closed }) {
            var connection: RedisSubscriberConnection?
            do {
                let handler = self.state.withLockedValue { $0.messageHandler }
                let established = try await RedisSubscriberConnection.connect(
                    configuration: self.configuration, eventLoop: self.eventLoopGroup.next()
                ) { event in
                    if let handler, case .message(let channel, let payload) = event {
                        handler(channel, payload)
                    } else {
                        continuation.yield(event)
                    }
                }
                connection = established
                try await self.resubscribe(established)
                if everConnected || failures > 0 {
                    logger.info("Redis subscriber connected and resubscribed", metadata: ["redis.failed_attempts": "\(failures)"])
                }
                continuation.yield(.connected(isReconnect: everConnected))
                everConnected = true

                let connectedAt = ContinuousClock.now
                await established.closed()
                self.state.withLockedValue { state in
                    if state.connection === established { state.connection = nil }
                }
                continuation.yield(.disconnected)
                if self.state.withLockedValue({ $0.closed }) { return }
                let healthy = connectedAt.duration(to: .now) >= RedisConnectionManager.healthyConnectionAge
                failures = healthy ? 0 : failures + 1
                logger.warning("Redis subscriber connection lost; reconnecting")
                if healthy { continue }
            } catch {
                connection?.close()
                self.state.withLockedValue { state in
                    if let connection, state.connection === connection { state.connection = nil }
                }
                if self.state.withLockedValue({ $0.closed }) { return }
                failures += 1
                let authFailed = (error as? RedisError)?.code == .authenticationFailed
                let level: Logger.Level = failures == 1 || authFailed ? .warning : .debug
                logger.log(level: level, "Redis subscriber connect attempt failed", metadata: [
                    "redis.error": "\(error)", "redis.failed_attempts": "\(failures)",
                ])
            }
            await self.sleeper.sleep(
                for: self.configuration.reconnectBackoff.delay(forAttempt: failures), on: self.eventLoopGroup.any()
            )
        }
    }

    /// Publishes `connection` for ``subscribe(_:)`` & co. and, in the same critical section, writes
    /// `SUBSCRIBE`/`PSUBSCRIBE` for everything recorded; then waits for Redis to confirm.
    private func resubscribe(_ connection: RedisSubscriberConnection) async throws {
        let futures = try self.state.withLockedValue { state -> [EventLoopFuture<Void>] in
            guard !state.closed else { throw Self.closedError }
            state.connection = connection
            let commands = Self.commands(.subscribe, state.channels.sorted()) + Self.commands(.psubscribe, state.patterns.sorted())
            return commands.map { connection.send($0, expectedReplies: $0.count - 1) }
        }
        for future in futures {
            try await future.get()
        }
    }
}
