import CSCore
import CSRedis

/// Failed sign-ins per agent id in Redis (`RedisKeys.loginFailures`), for ``LoginLockout``.
/// Unknown ids are counted like known ones: the answers do not tell which ids exist.
public struct LoginFailures: Sendable {
    public let redis: RedisClient
    public let lockout: LoginLockout

    public init(redis: RedisClient, lockout: LoginLockout) {
        self.redis = redis
        self.lockout = lockout
    }

    /// Seconds `agentID` must wait before signing in again, or nil.
    public func retryAfterSeconds(_ agentID: String) async throws -> Int? {
        let key = RedisArgument(RedisKeys.loginFailures(agentID))
        let replies = try await redis.pipeline([["GET", key], ["PTTL", key]]).checked()
        return lockout.retryAfterSeconds(failures: replies[0].int, remainingMilliseconds: replies[1].int)
    }

    /// Counts a failed sign-in; the first failure of a window starts it (`SET NX PX`, then INCR
    /// keeps that expiry).
    public func recordFailure(_ agentID: String) async throws {
        let key = RedisArgument(RedisKeys.loginFailures(agentID))
        try await redis.pipeline([["SET", key, "0", "PX", .init(lockout.windowMilliseconds), "NX"], ["INCR", key]]).checked()
    }

    /// Forgets the failures after a successful sign-in.
    public func clear(_ agentID: String) async throws {
        _ = try await redis.send("DEL", .init(RedisKeys.loginFailures(agentID)))
    }
}
