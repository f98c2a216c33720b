import Logging
import NIOCore

extension RedisConnectionManager {
    /// A connection that stayed up at least this long counts as healthy: after it drops the
    /// client reconnects at once instead of backing off.
    static let healthyConnectionAge: Duration = .seconds(1)

    /// The reconnect loop, started by the first ``connection()`` call and ended by ``shutdown()``.
    ///
    /// Connect (with handshake) → publish to waiters → wait for the channel to close → reconnect;
    /// failed attempts (and connections that die young) back off exponentially with jitter.
    func maintainConnection() async {
        var failures = 0
        var everConnected = false
        let address = "\(self.configuration.host):\(self.configuration.port)"
        var logger = self.logger
        logger[metadataKey: "redis.address"] = "\(address)"

        while true {
            let proceed = self.state.withLockedValue { state -> Bool in
                if case .closed = state.phase { return false }
                state.phase = .connecting
                return true
            }
            guard proceed else { return }

            do {
                let connection = try await RedisConnection.connect(
                    configuration: self.configuration, eventLoop: self.eventLoopGroup.next(), logger: logger
                )
                let waiters = self.state.withLockedValue { state -> [Waiter]? in
                    if case .closed = state.phase { return nil }
                    state.phase = .connected(connection)
                    state.lastError = nil
                    if everConnected {
                        state.reconnectCount += 1
                        RedisMetrics.reconnects.increment()
                    }
                    defer { state.waiters = [:] }
                    return Array(state.waiters.values)
                }
                guard let waiters else {
                    connection.close(failingWith: Self.clientClosedError)
                    return
                }
                if everConnected || failures > 0 {
                    logger.info("Redis connection established", metadata: ["redis.failed_attempts": "\(failures)"])
                }
                everConnected = true
                self.resumeAll(waiters, with: .success(connection))

                let connectedAt = ContinuousClock.now
                await connection.closed()
                let closed = self.state.withLockedValue { state -> Bool in
                    switch state.phase {
                    case .closed: return true
                    case .connected(let current) where current === connection: state.phase = .connecting
                    default: break
                    }
                    return false
                }
                if closed { return }
                let healthy = connectedAt.duration(to: .now) >= Self.healthyConnectionAge
                failures = healthy ? 0 : failures + 1
                logger.warning("Redis connection lost; reconnecting")
                if healthy { continue }
            } catch {
                failures += 1
                let redisError = RedisError.wrapping(error, as: .connectionFailed, context: "connect failed")
                let rejected = self.state.withLockedValue { state -> [Waiter] in
                    state.lastError = redisError
                    // A rejected AUTH will not fix itself within the waiters' timeout: tell them now.
                    guard redisError.code == .authenticationFailed else { return [] }
                    defer { state.waiters = [:] }
                    return Array(state.waiters.values)
                }
                self.resumeAll(rejected, with: .failure(redisError))
                let level: Logger.Level = failures == 1 || redisError.code == .authenticationFailed ? .warning : .debug
                logger.log(level: level, "Redis connect attempt failed", metadata: [
                    "redis.error": "\(redisError)", "redis.failed_attempts": "\(failures)",
                ])
            }
            await self.sleeper.sleep(
                for: self.configuration.reconnectBackoff.delay(forAttempt: failures), on: self.eventLoopGroup.any()
            )
        }
    }
}
