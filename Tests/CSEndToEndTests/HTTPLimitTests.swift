import CSGateway
import Testing

/// `AdmissionLimit`, the bound on password hashing (PasswordWork.swift): a flood of sign-ins is
/// refused past the limit instead of queueing.
@Suite("HTTP limits")
struct HTTPLimitTests {
    @Test func admitsUpToTheLimitThenRefusesUntilOneLeaves() {
        var limit = AdmissionLimit(limit: 3)
        for n in 0..<3 { let admitted = limit.enter(); #expect(admitted, "entry \(n)") }
        for _ in 0..<100 { let admitted = limit.enter(); #expect(!admitted, "beyond the limit nothing waits: refused") }
        #expect(limit.admitted == 3)
        limit.leave()
        do { let admitted = limit.enter(); #expect(admitted, "room again after one left") }
        do { let admitted = limit.enter(); #expect(!admitted) }
        for _ in 0..<10 { limit.leave() }
        #expect(limit.admitted == 0, "never below zero")
        #expect(AdmissionLimit(limit: 0).limit == 1)
    }
}
