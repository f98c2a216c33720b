import CSCore
import Testing

/// Which connections a broadcast selector reaches (`PushNotification.Audience.Matcher`).
@Suite("Broadcast audience")
struct AudienceMatcherTests {
    typealias Matcher = PushNotification.Audience.Matcher

    @Test(arguments: [
        ("all", ParticipantRole.customer, [String](), true),
        ("all", .agent, [], true),
        ("agents", .agent, [], true),
        ("agents", .supervisor, [], true),
        ("agents", .customer, [], false),
        ("customers", .customer, [], true),
        ("customers", .agent, [], false),
        ("skill:billing", .agent, ["billing", "sales"], true),
        ("skill:billing", .agent, ["sales"], false),
        ("skill:billing", .customer, ["billing"], false),
        ("skill:", .agent, ["billing"], false),
        ("users:v_ann", .customer, [], false),
        ("everyone", .customer, [], false),
    ])
    func selectorMatchesRoleAndSkills(selector: String, role: ParticipantRole, skills: [String], expected: Bool) {
        #expect(Matcher(selector: selector).matches(role: role, skills: skills) == expected)
    }

    @Test func everyAudienceSelectorReachesItsOwnInbox() {
        // A connection reads the inboxes of `selectors(role:skills:)` on connect; a live broadcast
        // to any of them must reach it too.
        for (role, skills) in [(ParticipantRole.customer, [String]()), (.agent, ["billing"]), (.supervisor, [])] {
            for selector in PushNotification.Audience.selectors(role: role, skills: skills) {
                #expect(Matcher(selector: selector).matches(role: role, skills: skills), "\(selector) for \(role)")
            }
        }
    }
}
