import CSCore
import CSRedis
import CSServer

/// A partition owner's view of its conversations: Redis is the truth, memory is a cache that is
/// valid because only the lease holder writes these keys.
///
/// "Only the lease holder" is enforced, not assumed: reads that fill the cache and every write of
/// state carry `fence`, the lease's token, and Redis refuses them (`FENCED`) once a later owner
/// of the partition has touched the conversation (`ConversationScripts.fenceCheck`).
final class ConversationStore {
    let redis: RedisClient
    let configuration: DispatcherConfiguration
    /// The partition lease's fencing token (0: unfenced).
    let fence: Int
    private var conversations: [String: ConversationState] = [:]
    private var openByCustomer: [String: String?] = [:]

    init(redis: RedisClient, configuration: DispatcherConfiguration, fence: Int = 0) {
        self.redis = redis
        self.configuration = configuration
        self.fence = fence
    }

    /// The conversation, or nil when it does not exist.
    func conversation(_ id: String) async throws -> ConversationState? {
        if let cached = conversations[id] { return cached }
        let fields = try await redis.callFunction(
            ConversationScripts.load, keys: [.init(RedisKeys.conversation(id))], arguments: [.init(fence)]).fieldMap
        let state = ConversationState(id: id, fields: fields)
        if let state { remember(state) }
        return state
    }

    /// The customer's open conversation (the one their messages without an id go to), or nil.
    func openConversation(ofCustomer customerID: String) async throws -> ConversationState? {
        let id: String?
        if let cached = openByCustomer[customerID] {
            id = cached
        } else {
            id = try await redis.send("GET", .init(RedisKeys.customerConversation(customerID))).string
            openByCustomer[customerID] = .some(id)
        }
        guard let id else { return nil }
        return try await conversation(id)
    }

    /// Records a new conversation and makes it the customer's open one.
    func create(_ state: ConversationState) async throws {
        var hset: [RedisArgument] = ["HSET", .init(RedisKeys.conversation(state.id))]
        for (field, value) in state.fields { hset += [.init(field), .init(value)] }
        // A new conversation starts fenced with our token.
        if fence > 0 { hset += ["fence", .init(fence)] }
        let replies = try await redis.pipeline([hset, ["SET", .init(RedisKeys.customerConversation(state.customer.id)), .init(state.id)]])
        try Self.check(replies)
        remember(state)
        openByCustomer[state.customer.id] = .some(state.id)
    }

    /// Writes the state's fields (plus `extra`) to the meta hash.
    func save(_ state: ConversationState, extra: [(String, String)] = []) async throws {
        var arguments: [RedisArgument] = [.init(fence)]
        for (field, value) in state.fields + extra { arguments += [.init(field), .init(value)] }
        _ = try await redis.callFunction(ConversationScripts.save, keys: [.init(RedisKeys.conversation(state.id))], arguments: arguments)
        remember(state)
    }

    /// Forgets the customer's open conversation if it is `conversationID`.
    func clearOpen(customerID: String, ifIs conversationID: String) async throws {
        _ = try await redis.callFunction(
            Self.deleteIfEquals, keys: [.init(RedisKeys.customerConversation(customerID))], arguments: [.init(conversationID)])
        openByCustomer[customerID] = nil
    }

    /// Numbers, stores and publishes an entry exactly once (see `ConversationScripts.append`).
    @discardableResult
    func append(
        _ frame: CommittedFrame, to state: ConversationState, dedupID: String, recipients: [String],
        alternative: (suffix: String, recipients: [String])? = nil
    ) async throws -> (isNew: Bool, seq: Int) {
        let (keys, arguments) = appendArguments(frame, to: state, dedupID: dedupID, recipients: recipients, alternative: alternative)
        let reply = try await redis.callFunction(ConversationScripts.append, keys: keys, arguments: arguments)
        let (isNew, seq) = try Self.appendResult(reply)
        if isNew { configuration.stats.messageOut() }
        try await recordWebhook(frame, state: state, seq: seq)
        return (isNew, seq)
    }

    func appendArguments(
        _ frame: CommittedFrame, to state: ConversationState, dedupID: String, recipients: [String],
        alternative: (suffix: String, recipients: [String])?
    ) -> (keys: [RedisArgument], arguments: [RedisArgument]) {
        (
            [.init(RedisKeys.conversation(state.id)), .init(RedisKeys.conversationLog(state.id)), .init(RedisKeys.conversationDedup(state.id))],
            [
                .init(dedupID), .init(frame.prefix), .init(frame.suffix), .init(configuration.historyMaxLength),
                .init(configuration.dedupTTLSeconds), .init(recipients.map(RedisKeys.userChannel).joined(separator: " ")),
                .init(alternative?.suffix ?? ""), .init(alternative?.recipients.map(RedisKeys.userChannel).joined(separator: " ") ?? ""),
                .init(fence), .init(nowMilliseconds()),
            ]
        )
    }

    static func appendResult(_ reply: RESPValue) throws -> (isNew: Bool, seq: Int) {
        if let error = reply.redisError { throw error }
        guard let values = reply.array, values.count == 2, let isNew = values[0].int, let seq = values[1].int else {
            throw RedisError(code: .protocolError, message: "unexpected append reply")
        }
        return (isNew == 1, seq)
    }

    /// Whether the conversation committed an entry under `dedupID` (its dedup table).
    func hasCommitted(dedupID: String, in conversationID: String) async throws -> Bool {
        try await !redis.send("HGET", .init(RedisKeys.conversationDedup(conversationID)), .init(dedupID)).isNull
    }

    /// The last `count` committed frames, oldest first.
    func recentFrames(of conversationID: String, count: Int) async throws -> [String] {
        let reply = try await redis.send("XREVRANGE", .init(RedisKeys.conversationLog(conversationID)), "+", "-", "COUNT", .init(count))
        return (reply.array ?? []).reversed().compactMap { $0.array?.last?.fieldMap["f"] }
    }

    func remember(_ state: ConversationState) {
        // Both caches are rebuilt from Redis on demand; bound them together.
        if conversations.count > 50_000 || openByCustomer.count > 50_000 {
            conversations.removeAll(keepingCapacity: true)
            openByCustomer.removeAll(keepingCapacity: true)
        }
        conversations[state.id] = state
    }

    private static func check(_ replies: [RESPValue]) throws {
        for case .error(let message) in replies { throw RedisError(code: .serverError, message: message) }
    }

    static let deleteIfEquals = RedisScript(
        "cs_delete_if_equals",
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0")
}
