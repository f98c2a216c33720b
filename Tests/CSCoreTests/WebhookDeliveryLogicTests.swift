import CSCore
@testable import CSWebhooks
import Testing

/// The pure parts of `cs-webhooks`: retry schedule, delivery order, endpoint health.
@Suite("Webhook delivery logic")
struct WebhookDeliveryLogicTests {
    // MARK: Retry schedule

    @Test func backoffDoublesUpToTheCapWithJitterInTheUpperHalf() {
        let policy = WebhookRetryPolicy(baseMilliseconds: 1_000, capMilliseconds: 600_000, giveUpAfterMilliseconds: 86_400_000)
        #expect((1...12).map(policy.step(afterFailures:)) == [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 512_000, 600_000, 600_000])
        #expect(policy.step(afterFailures: 10_000) == 600_000, "no overflow")
        for attempt in 1...15 {
            let step = policy.step(afterFailures: attempt)
            let low = policy.nextAttempt(afterFailures: attempt, firstAttemptAt: 0, now: 0, random: 0)!
            let high = policy.nextAttempt(afterFailures: attempt, firstAttemptAt: 0, now: 0, random: 0.999_999)!
            #expect(low == step / 2 && high <= step && high >= step - 1, "attempt \(attempt): \(low)...\(high) for step \(step)")
        }
    }

    @Test func givesUpAfterTheRetryTime() {
        let policy = WebhookRetryPolicy(baseMilliseconds: 1_000, capMilliseconds: 600_000, giveUpAfterMilliseconds: 86_400_000)
        // Simulate the whole schedule: it ends after 24 h, with the last try before the deadline.
        var now = 0, attempts = 0
        while let next = policy.nextAttempt(afterFailures: attempts + 1, firstAttemptAt: 0, now: now, random: 0.5) {
            attempts += 1
            now = next
        }
        #expect(now <= 86_400_000 && now > 86_400_000 - 600_000, "last try at \(now)")
        #expect((140...300).contains(attempts), "\(attempts) tries in 24 h")
        #expect(WebhookRetryPolicy(giveUpAfterMilliseconds: 0).nextAttempt(afterFailures: 1, firstAttemptAt: 0, now: 0, random: 0) == nil)
    }

    // MARK: Delivery order

    static func event(_ conversation: String, _ seq: Int) -> WebhookEvent {
        WebhookEvent(id: "\(conversation):\(seq)", type: .message, conversationID: conversation, body: "{}")
    }

    @Test func aLaneDeliversInOrderAndOnlyItsHeadIsOut() {
        var plan = DeliveryPlan()
        let a = DeliveryPlan.Lane(endpointID: "wh_1", conversationID: "c1")
        let a101 = plan.add(entryID: "1-0", event: Self.event("c1", 1), endpointIDs: ["wh_1"])
        #expect(a101 == [a], "a new lane needs a runner")
        let a102 = plan.add(entryID: "2-0", event: Self.event("c1", 2), endpointIDs: ["wh_1"])
        #expect(a102.isEmpty, "the lane's runner takes it later")
        #expect(plan.head(of: a)?.event.id == "c1:1")
        let r1 = plan.finishHead(of: a)
        #expect(r1)
        #expect(plan.head(of: a)?.event.id == "c1:2", "seq 2 only after seq 1 is done")
        let r2 = plan.finishHead(of: a)
        #expect(!r2, "the lane is empty: its runner stops")
        let a103 = plan.add(entryID: "3-0", event: Self.event("c1", 3), endpointIDs: ["wh_1"])
        #expect(a103 == [a], "an emptied lane starts again")
    }

    @Test func lanesAreIndependentAndAnEntryFinishesWithItsLastDelivery() {
        var plan = DeliveryPlan()
        let started = plan.add(entryID: "1-0", event: Self.event("c1", 1), endpointIDs: ["wh_2", "wh_1", "wh_1"])
        #expect(Set(started) == [.init(endpointID: "wh_1", conversationID: "c1"), .init(endpointID: "wh_2", conversationID: "c1")])
        let a104 = plan.add(entryID: "2-0", event: Self.event("c2", 1), endpointIDs: ["wh_1"])
        #expect(a104 == [.init(endpointID: "wh_1", conversationID: "c2")])
        #expect(plan.entriesInFlight == 2)
        // c2 finishes first although it came later: other conversations are not blocked.
        _ = plan.finishHead(of: .init(endpointID: "wh_1", conversationID: "c2"))
        let r3 = plan.takeFinished()
        #expect(r3 == ["2-0"])
        _ = plan.finishHead(of: .init(endpointID: "wh_1", conversationID: "c1"))
        let r4 = plan.takeFinished()
        #expect(r4.isEmpty, "wh_2 has not had 1-0 yet")
        _ = plan.finishHead(of: .init(endpointID: "wh_2", conversationID: "c1"))
        let r5 = plan.takeFinished()
        #expect(r5 == ["1-0"] && plan.entriesInFlight == 0)
    }

    @Test func unwantedAndRepeatedEntries() {
        var plan = DeliveryPlan()
        let a105 = plan.add(entryID: "1-0", event: Self.event("c1", 1), endpointIDs: [])
        #expect(a105.isEmpty)
        let r6 = plan.takeFinished()
        #expect(r6 == ["1-0"], "nobody wants it: acknowledged at once")
        _ = plan.add(entryID: "2-0", event: Self.event("c1", 2), endpointIDs: ["wh_1"])
        let a106 = plan.add(entryID: "2-0", event: Self.event("c1", 2), endpointIDs: ["wh_1"])
        #expect(a106.isEmpty)
        _ = plan.finishHead(of: .init(endpointID: "wh_1", conversationID: "c1"))
        #expect(plan.head(of: .init(endpointID: "wh_1", conversationID: "c1")) == nil, "an entry read twice is delivered once")
    }

    // MARK: Endpoint health

    @Test func pausedOnlyAfterFailingWithoutSuccessForTheWholeTime() {
        var health = EndpointHealth(pauseAfterMilliseconds: 10_000)
        let r7 = health.failed("wh_1", now: 0)
        #expect(r7 == .init(recordError: true, pause: false))
        let r8 = health.failed("wh_1", now: 500)
        #expect(r8 == .init(recordError: false, pause: false), "errors written at most once a second")
        let r9 = health.failed("wh_1", now: 9_999)
        #expect(r9.pause == false)
        health.succeeded("wh_1")
        let r10 = health.failed("wh_1", now: 10_000)
        #expect(r10.pause == false, "a success starts the clock again")
        let r11 = health.failed("wh_1", now: 20_000)
        #expect(r11.pause == true)
        let r12 = health.failed("wh_2", now: 20_000)
        #expect(r12.pause == false, "per endpoint")
        health.reset("wh_1")
        let r13 = health.failed("wh_1", now: 20_001)
        #expect(r13.pause == false, "a resumed endpoint starts afresh")
    }
}
