import CSCore
import CSRedis

/// Appends accepted client actions to the inbound stream of their partition.
public struct InboundPublisher: Sendable {
    let redis: RedisClient
    let partitioner: Partitioner

    public init(redis: RedisClient, partitioner: Partitioner) {
        self.redis = redis
        self.partitioner = partitioner
    }

    /// XADDs `entry` and returns the stream entry id once Redis has it.
    ///
    /// - Throws: `ChatError(.notFound)` for a conversation id that names no customer,
    ///   `RedisError` when Redis cannot take it (the caller reports `unavailable`).
    public func append(_ entry: InboundEntry) async throws -> String {
        let partition: Int
        if entry.role == .customer {
            // A customer's conversations all carry their id; refuse others before they cost a stream entry.
            if !entry.conversationID.isEmpty && Identifier.customerID(ofConversation: entry.conversationID) != entry.userID {
                throw ChatError(.forbidden, "not your conversation")
            }
            partition = partitioner.partition(forCustomer: entry.userID)
        } else if let conversationPartition = partitioner.partition(forConversation: entry.conversationID) {
            partition = conversationPartition
        } else if entry.conversationID.isEmpty {
            throw ChatError(.invalidField, "conversationId is required")
        } else {
            throw ChatError(.notFound, "no such conversation")
        }
        let fields = entry.fields
        var command: [RedisArgument] = ["XADD", .init(RedisKeys.inbound(partition: partition)), "*"]
        command.reserveCapacity(3 + fields.count * 2)
        for (name, value) in fields {
            command.append(.init(name))
            command.append(.init(value))
        }
        let reply = try await redis.send(command)
        guard let id = reply.string else { throw RedisError(code: .protocolError, message: "XADD returned no id") }
        return id
    }
}
