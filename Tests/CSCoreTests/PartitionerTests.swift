import CSCore
import Testing

/// `Partitioner`: gateways and dispatchers must compute the same partition forever, so the hash is pinned.
@Suite("Partitioner")
struct PartitionerTests {
    /// 32-bit FNV-1a of known strings (published test vectors for "", "a" and "foobar").
    @Test(arguments: [
        ("", 8, 5), ("a", 8, 4), ("foobar", 8, 0),
        ("", 1024, 453), ("a", 1024, 300), ("foobar", 1024, 360),
        ("v_3q9x7k2m4n8p", 8, 2), ("v_3q9x7k2m4n8p", 16, 2), ("v_3q9x7k2m4n8p", 1024, 418),
        ("v_abcdefghijkm", 8, 1), ("v_abcdefghijkm", 16, 9), ("v_abcdefghijkm", 1024, 617),
        ("alice", 8, 7), ("alice", 1024, 999),
        ("é", 8, 1), ("é", 1024, 193),
        ("dispatcher-1", 8, 2), ("dispatcher-1", 16, 10),
    ])
    func pinnedValues(customerID: String, count: Int, expected: Int) {
        #expect(Partitioner(count: count).partition(forCustomer: customerID) == expected)
    }

    @Test func singlePartitionTakesEverything() {
        let partitioner = Partitioner(count: 1)
        for id in ["", "a", "v_3q9x7k2m4n8p", Identifier.newVisitorID()] {
            #expect(partitioner.partition(forCustomer: id) == 0)
        }
    }

    @Test(arguments: [1, 2, 3, 7, 8, 64, 1024])
    func partitionsAreInRangeAndStable(count: Int) {
        let partitioner = Partitioner(count: count)
        #expect(partitioner.count == count)
        for _ in 0..<500 {
            let id = Identifier.newVisitorID()
            let partition = partitioner.partition(forCustomer: id)
            #expect((0..<count).contains(partition))
            #expect(Partitioner(count: count).partition(forCustomer: id) == partition)
        }
    }

    @Test func conversationsMapToTheirCustomersPartition() {
        #expect(Partitioner(count: 8).partition(forConversation: "v_3q9x7k2m4n8p.k7f2m9q1") == 2)
        #expect(Partitioner(count: 1024).partition(forConversation: "v_3q9x7k2m4n8p.zzzzzzzz") == 418)
        for count in [1, 8, 13, 1024] {
            let partitioner = Partitioner(count: count)
            for _ in 0..<200 {
                let customer = Identifier.newVisitorID()
                let conversation = Identifier.newConversationID(customerID: customer)
                #expect(partitioner.partition(forConversation: conversation) == partitioner.partition(forCustomer: customer))
            }
        }
    }

    @Test(arguments: ["", "nodot", ".abc", "v_3q9x7k2m4n8p.", "."])
    func malformedConversationIDsHaveNoPartition(conversationID: String) {
        #expect(Partitioner(count: 8).partition(forConversation: conversationID) == nil)
    }

    @Test func spreadsVisitorsEvenly() {
        let partitioner = Partitioner(count: 8)
        var counts = [Int](repeating: 0, count: 8)
        for _ in 0..<16_000 { counts[partitioner.partition(forCustomer: Identifier.newVisitorID())] += 1 }
        // Expected 2,000 each (σ ≈ 42); the bounds are > 10σ away.
        for count in counts { #expect((1_500...2_500).contains(count), "\(counts)") }
    }

    @Test func equalCountsAreEqualPartitioners() {
        #expect(Partitioner(count: 8) == Partitioner(count: 8))
        #expect(Partitioner(count: 8) != Partitioner(count: 16))
    }

    @Test func zeroPartitionsIsAProgrammingError() async {
        await #expect(processExitsWith: .failure) {
            _ = Partitioner(count: 0)
        }
    }
}
