import CSTestSupport
import Foundation
import Testing

extension EndToEnd {
    /// A chat message that finds its socket idle is appended from the event loop; frames behind it
    /// (and every other kind of frame) go through the session pool. Sent back to back, in bursts,
    /// a mix of both is still answered one frame at a time, in send order.
    @Test("a burst of messages, pings and bad frames is answered in send order")
    func mixedBurstIsAnsweredInOrder() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1) { cluster, scope in
            let customer = try await Self.connectCustomer(scope, cluster.gateways[0], name: "Ann")
            var expected: [String] = []
            for round in 1...20 {
                for step in 1...3 {
                    let message = "m-\(round)-\(step)"
                    try await customer.client.sendText(#"{"type":"message","id":"\#(message)","body":"hello \#(message)"}"#)
                    expected.append("ack:" + message)
                }
                try await customer.client.sendText(#"{"type":"ping","id":"p-\#(round)"}"#)
                expected.append("pong:p-\(round)")
                try await customer.client.sendText(#"{"type":"message","id":"b-\#(round)","body":42}"#)
                expected.append("error:b-\(round)")
                let escaped = "e-\(round)"
                try await customer.client.sendText(#"{"type":"message","id":"\#(escaped)","body":"say \"hi\"\n"}"#)
                expected.append("ack:" + escaped)
            }
            try await customer.client.waitForReceivedCount(80, type: "ack")
            try await customer.client.waitForReceivedCount(20, type: "pong")
            try await customer.client.waitForReceivedCount(20, type: "error")
            let answers = customer.client.received.compactMap { frame -> String? in
                guard let type = frame.type, ["ack", "pong", "error"].contains(type), let id = frame.json?["id"]?.stringValue else { return nil }
                return type + ":" + id
            }
            #expect(Self.describeDifferences(observed: answers, expected: expected) == nil)
        }
    }
}
