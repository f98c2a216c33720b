import CSCore
import CSRedis
import NIOCore

/// Appends accepted client actions to the inbound stream of their partition.
///
/// Chat messages go out on the connection of the socket's own event loop (`RedisLanes`), so the
/// XADD and its reply never leave the socket's thread.
public struct InboundPublisher: Sendable {
    let lanes: RedisLanes
    let partitioner: Partitioner

    public init(lanes: RedisLanes, partitioner: Partitioner) {
        self.lanes = lanes
        self.partitioner = partitioner
    }

    /// XADDs `entry` and returns the stream entry id once Redis has it.
    ///
    /// - Throws: `ChatError(.forbidden)` for a conversation id that names no customer or another customer,
    ///   `RedisError` when Redis cannot take it (the caller reports `unavailable`).
    public func append(_ entry: InboundEntry, thread: ObjectIdentifier? = nil) async throws -> String {
        let redis = thread.map(lanes.client(for:)) ?? lanes.fallback
        return try Self.entryID(from: try await redis.send(try command(for: entry)))
    }

    /// `append` without a task, for a caller on an event loop: nil when Redis has no live
    /// connection right now (then use `append`). The future completes on Redis' event loop.
    ///
    /// - Throws: `ChatError` as `append` does, before anything is sent.
    func appendNow(_ entry: InboundEntry) throws -> EventLoopFuture<String>? {
        lanes.current.sendNow(try command(for: entry))?.flatMapThrowing(Self.entryID(from:))
    }

    /// The `XADD` of `entry` to its partition's stream.
    ///
    /// A retried client message id is not looked up here: it becomes a second entry, and the
    /// dispatcher commits it once (the conversation's dedup table; docs/protocol.md, "Retries").
    /// An acceptance check here cost a script and three more commands per message, and a key per
    /// message kept for a day.
    private func command(for entry: InboundEntry) throws -> [RedisArgument] {
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
        var arguments: [RedisArgument] = ["XADD", stream, "*"]
        arguments.reserveCapacity(3 + fields.count * 2)
        for (name, value) in fields {
            arguments.append(.init(name))
            arguments.append(.init(value))
        }
        return arguments
    }

    private static func entryID(from reply: RESPValue) throws -> String {
        guard let id = reply.string else { throw RedisError(code: .protocolError, message: "XADD returned no id") }
        return id
    }
}
