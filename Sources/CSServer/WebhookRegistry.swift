import CSCore
import CSRedis

/// Webhook endpoints in Redis (`cs:{webhooks}:endpoints`, `:paused`, `:errors`, docs/redis-keys.md
/// "Webhooks"): what the HTTP API (`/v1/webhooks`) and `cs-admin webhook` manage, and what
/// `cs-webhooks` reads and marks. Plain commands, no function: a registration is written once
/// and never rewritten, a pause and an error live in hashes of their own, each value written
/// whole, so no read-modify-write races another (a pause racing a removal leaves at most a
/// pause nobody lists).
public struct WebhookRegistry: Sendable {
    public static let maxEndpoints = 100

    let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    /// An endpoint with its status, as listed.
    public struct Entry: Sendable, Equatable {
        public var endpoint: WebhookEndpoint
        public var status: WebhookEndpointStatus

        public init(endpoint: WebhookEndpoint, status: WebhookEndpointStatus) {
            self.endpoint = endpoint
            self.status = status
        }
    }

    /// Checks and registers an endpoint; returns it with its secret (generated when nil).
    ///
    /// - Throws: `ChatError` `webhook_url_refused` (with the policy's reason), `invalid_field`
    ///   (no types, a bad secret), `limit_reached` (`maxEndpoints`).
    public func add(
        url: String, types: [WebhookEventType], secret: String?, createdBy: String, policy: WebhookURLPolicy, now: Int
    ) async throws -> WebhookEndpoint {
        guard !types.isEmpty else { throw ChatError(.invalidField, "types must name at least one event type") }
        if let secret, !WebhookEndpoint.isValidSecret(secret) {
            throw ChatError(.invalidField, "secret must be 16-128 printable ASCII characters without spaces")
        }
        if case .failure(let refusal) = await WebhookTargetCheck.check(url, policy: policy) {
            throw ChatError(.webhookURLRefused, refusal.reason)
        }
        let count = try await redis.send("HLEN", .init(RedisKeys.webhookEndpoints))
        if let error = count.redisError { throw error }
        guard (count.int ?? 0) < Self.maxEndpoints else { throw ChatError(.limitReached, "at most \(Self.maxEndpoints) webhook endpoints") }
        let endpoint = WebhookEndpoint(
            id: WebhookEndpoint.newID(), url: url, types: types.sorted(), secret: secret ?? WebhookEndpoint.newSecret(), createdAt: now,
            createdBy: createdBy)
        try await redis.pipeline([["HSET", .init(RedisKeys.webhookEndpoints), .init(endpoint.id), .init(endpoint.json)]]).checked()
        return endpoint
    }

    /// Every endpoint with its status, oldest first.
    public func list() async throws -> [Entry] {
        let replies = try await redis.pipeline([
            ["HGETALL", .init(RedisKeys.webhookEndpoints)], ["HGETALL", .init(RedisKeys.webhookPaused)],
            ["HGETALL", .init(RedisKeys.webhookErrors)],
        ]).checked()
        let paused = replies[1].fieldMap, errors = replies[2].fieldMap
        return replies[0].fieldMap.values.compactMap(WebhookEndpoint.init(json:))
            .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
            .map { endpoint in
                Entry(endpoint: endpoint, status: .init(
                    pause: paused[endpoint.id].flatMap { .init(webhookJSON: $0) }, failure: errors[endpoint.id].flatMap { .init(webhookJSON: $0) }))
            }
    }

    /// The endpoint `id`, or nil.
    public func find(_ id: String) async throws -> Entry? {
        let replies = try await redis.pipeline([
            ["HGET", .init(RedisKeys.webhookEndpoints), .init(id)], ["HGET", .init(RedisKeys.webhookPaused), .init(id)],
            ["HGET", .init(RedisKeys.webhookErrors), .init(id)],
        ]).checked()
        guard let endpoint = replies[0].string.flatMap(WebhookEndpoint.init(json:)) else { return nil }
        return Entry(endpoint: endpoint, status: .init(
            pause: replies[1].string.flatMap { .init(webhookJSON: $0) }, failure: replies[2].string.flatMap { .init(webhookJSON: $0) }))
    }

    /// Removes the endpoint, its pause, last error and dead letters; false when there was none.
    public func remove(_ id: String) async throws -> Bool {
        let replies = try await redis.pipeline([
            ["MULTI"], ["HDEL", .init(RedisKeys.webhookEndpoints), .init(id)], ["HDEL", .init(RedisKeys.webhookPaused), .init(id)],
            ["HDEL", .init(RedisKeys.webhookErrors), .init(id)], ["DEL", .init(RedisKeys.webhookDeadLetters(id))], ["EXEC"],
        ]).checked()
        return replies.last?.array?.first?.int == 1
    }

    /// Pauses the endpoint (its deliveries go to its dead letters, to replay after resuming) or
    /// resumes it; false when it does not exist.
    public func setPaused(_ id: String, paused: Bool, reason: WebhookEndpointStatus.PauseReason, now: Int) async throws -> Bool {
        guard try await find(id) != nil else { return false }
        let command: [RedisArgument] =
            paused
            ? ["HSET", .init(RedisKeys.webhookPaused), .init(id), .init(WebhookEndpointStatus.Pause(reason: reason, since: now).webhookJSON)]
            : ["HDEL", .init(RedisKeys.webhookPaused), .init(id)]
        try await redis.pipeline([command]).checked()
        return true
    }

    /// Records the last delivery error (`cs-webhooks`).
    public func recordFailure(_ id: String, error: String, now: Int) async throws {
        let failure = WebhookEndpointStatus.Failure(error: String(error.prefix(200)), at: now)
        try await redis.pipeline([["HSET", .init(RedisKeys.webhookErrors), .init(id), .init(failure.webhookJSON)]]).checked()
    }

    /// Whether `id` has the form of an endpoint id (`wh_` and 12 characters of the id alphabet).
    public static func isValidID(_ id: String) -> Bool {
        id.hasPrefix("wh_") && id.utf8.count == 15 && Identifier.isValid(id)
    }
}
