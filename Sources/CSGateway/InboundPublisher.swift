import CSCore
import CSRedis
import NIOCore

/// Appends accepted client actions to the inbound stream of their partition.
public struct InboundPublisher: Sendable {
    let redis: RedisClient
    let partitioner: Partitioner

    /// How long a client message id is remembered for retries.
    public static let acceptanceMemorySeconds = 24 * 3600

    /// KEYS = inbound stream, acceptance key; ARGV = ttlSeconds, field, value, ...
    static let acceptOnce = RedisScript(
        "cs_accept_once",
        """
        local seen = redis.call('GET', KEYS[2])
        if seen then return seen end
        local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
        redis.call('SET', KEYS[2], id, 'EX', ARGV[1])
        return id
        """
    )

    public init(redis: RedisClient, partitioner: Partitioner) {
        self.redis = redis
        self.partitioner = partitioner
    }

    /// XADDs `entry` and returns the stream entry id once Redis has it.
    ///
    /// - Throws: `ChatError(.forbidden)` for a conversation id that names no customer or another customer,
    ///   `RedisError` when Redis cannot take it (the caller reports `unavailable`).
    public func append(_ entry: InboundEntry) async throws -> String {
        let reply: RESPValue
        switch try command(for: entry) {
        case .plain(let arguments): reply = try await redis.send(arguments)
        case .acceptOnce(let keys, let arguments): reply = try await redis.callFunction(Self.acceptOnce, keys: keys, arguments: arguments)
        }
        return try Self.entryID(from: reply)
    }

    /// `append` without a task, for a caller on an event loop: nil when Redis has no live
    /// connection right now (then use `append`). The future completes on Redis' event loop.
    ///
    /// - Throws: `ChatError` as `append` does, before anything is sent.
    func appendNow(_ entry: InboundEntry) throws -> EventLoopFuture<String>? {
        let sent: EventLoopFuture<RESPValue>?
        switch try command(for: entry) {
        case .plain(let arguments): sent = redis.sendNow(arguments)
        case .acceptOnce(let keys, let arguments): sent = redis.callFunctionNow(Self.acceptOnce, keys: keys, arguments: arguments)
        }
        return sent?.flatMapThrowing(Self.entryID(from:))
    }

    private enum Command {
        case plain([RedisArgument])
        case acceptOnce(keys: [RedisArgument], arguments: [RedisArgument])
    }

    /// The partition's stream and the command that appends `entry` to it.
    private func command(for entry: InboundEntry) throws -> Command {
        let partition: Int
        if entry.role == .customer {
            // A customer's conversations all carry their id; refuse others before they cost a stream entry.
            if !entry.conversationID.isEmpty && Identifier.customerID(ofConversation: entry.conversationID) != entry.userID {
                throw ConversationRules.refusal(for: entry)
            }
            partition = partitioner.partition(forCustomer: entry.userID)
        } else if let conversationPartition = partitioner.partition(forConversation: entry.conversationID) {
            partition = conversationPartition
        } else if entry.conversationID.isEmpty {
            throw ChatError(.invalidField, "conversationId is required")
        } else {
            // Names no customer, so no conversation: answered like someone else's (docs/protocol.md).
            throw ConversationRules.refusal(for: entry)
        }
        let fields = entry.fields
        let stream = RedisArgument(RedisKeys.inbound(partition: partition))
        var arguments: [RedisArgument] = []
        arguments.reserveCapacity(3 + fields.count * 2)
        if entry.clientMessageID.isEmpty {
            arguments.append("XADD")
            arguments.append(stream)
            arguments.append("*")
        } else {
            arguments.append(.init(Self.acceptanceMemorySeconds))
        }
        for (name, value) in fields {
            arguments.append(.init(name))
            arguments.append(.init(value))
        }
        if entry.clientMessageID.isEmpty { return .plain(arguments) }
        // A retried client message id gets the entry id of its first acceptance, and no new entry.
        let key = RedisKeys.acceptedMessage(partition: partition, userID: entry.userID, clientMessageID: entry.clientMessageID)
        return .acceptOnce(keys: [stream, .init(key)], arguments: arguments)
    }

    private static func entryID(from reply: RESPValue) throws -> String {
        guard let id = reply.string else { throw RedisError(code: .protocolError, message: "XADD returned no id") }
        return id
    }
}
