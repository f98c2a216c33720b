/// Maps conversations to inbound stream partitions.
///
/// All of a customer's conversations share one partition (the partition key is the customer id),
/// so one dispatcher commits all of a conversation's entries in stream order. Gateways and
/// dispatchers must agree on `count`; both check it against `cs:{ops}:partitions` at start.
public struct Partitioner: Sendable, Hashable {
    public let count: Int

    public init(count: Int) {
        precondition(count > 0, "partition count must be positive")
        self.count = count
    }

    /// Partition for a customer id (32-bit FNV-1a of its UTF-8 bytes, modulo `count`).
    public func partition(forCustomer customerID: String) -> Int {
        var hash: UInt32 = 2_166_136_261
        for byte in customerID.utf8 {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int(hash % UInt32(count))
    }

    /// Partition for a conversation id, or nil when the id does not name a customer.
    public func partition(forConversation conversationID: String) -> Int? {
        Identifier.customerID(ofConversation: conversationID).map { partition(forCustomer: $0) }
    }
}
