import CSCore
import CSServer
import Testing

/// No two inputs may build the same Redis key or channel (issue 21, item 1).
///
/// Small-scope check: every key builder is fed every id the validator accepts from all strings of
/// up to three characters over an alphabet that holds the key separator, hash-tag braces and the
/// characters ids really use. Collisions need a separator inside a component (agent `k5` with
/// message id `1:m` against agent `k5:1` with `m`), and three characters are enough to build one,
/// so if `Identifier.isValid` ever lets `:` or a brace through, this finds the collision.
@Suite("Redis keys are unambiguous")
struct RedisKeyInjectivityTests {
    /// Every string of 1...3 characters over a hostile alphabet that passes `isValid`.
    static let ids: [String] = {
        let alphabet = ["a", "1", ":", "{", "}", ".", "-"]
        var all = alphabet
        var frontier = alphabet
        for _ in 1..<3 {
            frontier = frontier.flatMap { prefix in alphabet.map { prefix + $0 } }
            all += frontier
        }
        return all.filter { Identifier.isValid($0) }
    }()

    /// Days as the code builds them (`CalendarDay.description`): they contain `-`, never `:`.
    static let days = ["2026-12-07", "2026-01-31"]

    static var scopes: [RatingScope] { [.all] + ids.map { .agent($0) } + ids.map { .team($0) } }

    /// Every key (and pub/sub channel) built from input, named by builder and arguments.
    static func everyKey() -> [(key: String, source: String)] {
        var keys: [(String, String)] = []
        func add(_ key: String, _ source: String) { keys.append((key, source)) }
        for id in ids {
            add(RedisKeys.conversation(id), "conversation(\(id))")
            add(RedisKeys.conversationLog(id), "conversationLog(\(id))")
            add(RedisKeys.conversationDedup(id), "conversationDedup(\(id))")
            add(RedisKeys.customerConversation(id), "customerConversation(\(id))")
            add(RedisKeys.agent(id), "agent(\(id))")
            add(RedisKeys.queue(skill: id), "queue(\(id))")
            add(RedisKeys.agentConversations(id), "agentConversations(\(id))")
            add(RedisKeys.handlingTimes(skill: id), "handlingTimes(\(id))")
            add(RedisKeys.userChannel(id), "userChannel(\(id))")
            add(RedisKeys.gatewayChannel(id), "gatewayChannel(\(id))")
            add(RedisKeys.notification(id), "notification(\(id))")
            for kind in ["delivered", "acked", "read"] {
                add(RedisKeys.notificationReceipts(id, kind), "notificationReceipts(\(id), \(kind))")
            }
            add(RedisKeys.notificationInbox("user:" + id), "inbox(user:\(id))")
            add(RedisKeys.notificationInbox(PushNotification.Audience.skill(id).selector), "inbox(skill:\(id))")
            add(RedisKeys.visitorSeen(id), "visitorSeen(\(id))")
            add(RedisKeys.rating(id), "rating(\(id))")
            add(RedisKeys.cannedAgent(id), "cannedAgent(\(id))")
            add(RedisKeys.processHeartbeat(id), "processHeartbeat(\(id))")
            for message in ids {
                add(RedisKeys.openingMessage(customerID: id, clientMessageID: message), "openingMessage(\(id), \(message))")
            }
        }
        for selector in ["all", "agents", "customers"] { add(RedisKeys.notificationInbox(selector), "inbox(\(selector))") }
        for scope in scopes {
            add(RedisKeys.ratingAggregate(scope), "ratingAggregate(\(scope))")
            add(RedisKeys.ratingIndex(scope), "ratingIndex(\(scope))")
            for day in days { add(RedisKeys.ratingAggregate(scope, day: day), "ratingAggregate(\(scope), \(day))") }
        }
        for day in days { add(RedisKeys.dailyStats(day: day), "dailyStats(\(day))") }
        for partition in 0..<2 {
            add(RedisKeys.inbound(partition: partition), "inbound(\(partition))")
            add(RedisKeys.lease(partition: partition), "lease(\(partition))")
            add(RedisKeys.deadLetters(partition: partition), "deadLetters(\(partition))")
        }
        let fixed = [
            RedisKeys.agentIDs, RedisKeys.agentsOnline, RedisKeys.agentsLoad, RedisKeys.agentsCapacity,
            RedisKeys.agentsSkills, RedisKeys.agentsLastAssigned, RedisKeys.assignments, RedisKeys.queued,
            RedisKeys.queueSkills, RedisKeys.agentsStatus, RedisKeys.conversationSkills, RedisKeys.assignedAt,
            RedisKeys.drainWakeup, RedisKeys.notifyStream, RedisKeys.scheduledNotifications,
            RedisKeys.notificationIndex, RedisKeys.broadcastChannel, RedisKeys.partitionCount,
            RedisKeys.dispatchers, RedisKeys.processes, RedisKeys.ratedAgents, RedisKeys.ratedTeams,
            RedisKeys.cannedTeam,
        ]
        for key in fixed { add(key, "fixed \(key)") }
        return keys
    }

    @Test func theHostileAlphabetReachesTheBuilders() {
        // The domain is not trivially small: ids of 1-3 characters from "a1.-".
        #expect(Self.ids.count == 4 + 16 + 64)
        #expect(!Self.ids.contains { $0.contains(":") || $0.contains("{") || $0.contains("}") })
    }

    @Test func distinctInputsNeverBuildTheSameKey() {
        var seen: [String: String] = [:]
        var collisions: [String] = []
        for (key, source) in Self.everyKey() {
            if let earlier = seen.updateValue(source, forKey: key), collisions.count < 5 {
                collisions.append("\(earlier) and \(source) both build \(key)")
            }
        }
        #expect(collisions.isEmpty, "\(collisions)")
    }

    /// The two collisions the audit saw, refused at the edge now.
    @Test func theAuditedCollisionsAreRefusedAtTheEdge() {
        #expect(!Identifier.isValid("1:m"))
        #expect(!Identifier.isValid("k5:1"))
        #expect(!Identifier.isValid("default:2026-12-07", maxLength: ClientFrame.Limits.maxSkillLength))
        #expect(!Identifier.isValid("a:2026-12-07"))
        #expect(throws: ChatError.self) {
            try ClientFrame.decode(#"{"type":"message","id":"1:m","body":"hi"}"#)
        }
        #expect(throws: ChatError.self) {
            try ClientFrame.decode(#"{"type":"message","id":"m1","body":"hi","skill":"default:2026-12-07"}"#)
        }
    }

    /// A component can never move a key to another hash slot: keys of one conversation, one
    /// customer or one partition keep the tag their family declares.
    @Test func componentsCannotChangeAHashTag() {
        func tag(_ key: String) -> Substring? {
            guard let open = key.firstIndex(of: "{"),
                let close = key[key.index(after: open)...].firstIndex(of: "}"), close > key.index(after: open)
            else { return nil }
            return key[key.index(after: open)..<close]
        }
        for id in Self.ids {
            for key in [RedisKeys.conversation(id), RedisKeys.conversationLog(id), RedisKeys.conversationDedup(id)] {
                #expect(tag(key) == Substring("c:" + id))
            }
            #expect(tag(RedisKeys.customerConversation(id)) == Substring("u:" + id))
            #expect(tag(RedisKeys.agent(id)) == "agents")
            #expect(tag(RedisKeys.queue(skill: id)) == "agents")
            #expect(tag(RedisKeys.openingMessage(customerID: id, clientMessageID: id)) == Substring("u:" + id))
            #expect(tag(RedisKeys.notification(id)) == "notify")
            #expect(tag(RedisKeys.rating(id)) == "ratings")
        }
    }
}
