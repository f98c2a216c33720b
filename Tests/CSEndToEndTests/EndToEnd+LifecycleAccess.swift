import CSTestSupport
import Foundation
import Testing

/// Who may read what (resume, HTTP history), history paging, typing and read receipts.
extension EndToEnd {
    /// A customer cannot read another customer's conversation, nor an agent one that is not
    /// theirs; a supervisor can. HTTP history pages with `after`, `limit` and `next`.
    @Test("lifecycle: authorisation of resume and history; history paging")
    func lifecycleAuthorisation() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            let http = gateway.http
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 1)
            try await cluster.addAgent(id: "bob", name: "Bob", password: Self.agentPassword, max: 1)
            try await cluster.addAgent(id: "sue", name: "Sue", password: Self.agentPassword, skills: ["supervision"], max: 1, role: "supervisor")
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (annID, annEvent) = try await Self.openConversation(ann, messageID: "ann-1")
            try #require(annEvent["agent"]?["id"]?.stringValue == "ada", "\(annEvent)")
            let bob = try await Self.connectStaff(scope, gateway, id: "bob")
            let ben = try await Self.connectCustomer(scope, gateway, name: "Ben")
            let (_, benEvent) = try await Self.openConversation(ben, messageID: "ben-1")
            try #require(benEvent["agent"]?["id"]?.stringValue == "bob", "\(benEvent)")
            let annIDs = (2...7).map { "ann-\($0)" }
            for id in annIDs { try await ann.client.sendMessage(id: id, body: "text \(id)") }
            try await Self.awaitMessage(ann.client, id: "ann-7")
            let lastSeq = try #require(Self.seqs(ann.client.received, conversationID: annID).max())
            let sue = try await Self.connectStaff(scope, gateway, id: "sue", role: "supervisor")

            // resume
            try await ben.client.sendResume([(annID, 0)])
            let benError = try await Self.awaitFrame(ben.client, "error", "forbidden for ben's resume")
            #expect(benError.string("code") == "forbidden" && benError.string("conversationId") == annID, "\(benError)")
            try await bob.client.sendResume([(annID, 0)])
            let bobError = try await Self.awaitFrame(bob.client, "error", "forbidden for bob's resume")
            #expect(bobError.string("code") == "forbidden" && bobError.string("conversationId") == annID, "\(bobError)")
            try await Self.settle(.milliseconds(300), [ben.client, bob.client])
            #expect(ben.client.received(conversationID: annID).allSatisfy { $0.type == "error" }, "ben got ann's entries: \(Self.summary(ben.client.received))")
            #expect(bob.client.received(conversationID: annID).allSatisfy { $0.type == "error" }, "bob got ann's entries: \(Self.summary(bob.client.received))")

            try await sue.client.sendResume([(annID, 0)])
            let resumed = try await Self.awaitFrame(sue.client, "resumed", "the supervisor's resume") { $0.string("conversationId") == annID }
            #expect(resumed.int("lastSeq") == lastSeq, "\(resumed)")
            let sueSeqs = Self.seqs(sue.client.received, conversationID: annID)
            #expect(sueSeqs == Self.seqRange(1, lastSeq), "supervisor replay: \(sueSeqs)")

            // HTTP history: who may read.
            let path = "/v1/conversations/\(annID)/messages"
            let noToken = try await http.get(path, token: nil)
            #expect(noToken.status == 401 && noToken.json?["error"]?["code"]?.stringValue == "unauthorized", "\(noToken)")
            for (token, who) in [(ben.session.token, "another customer"), (bob.session.token, "another agent")] {
                let response = try await http.get(path, token: token)
                #expect(response.status == 403 && response.json?["error"]?["code"]?.stringValue == "forbidden", "\(who): \(response)")
            }
            for (token, who) in [(ann.session.token, "the customer"), (ada.session.token, "the assigned agent"), (sue.session.token, "a supervisor")] {
                let response = try await http.get(path, token: token)
                #expect(response.status == 200, "\(who): \(response)")
                #expect(response.json?["lastSeq"]?.intValue == lastSeq, "\(who): \(response)")
            }
            let missing = try await http.get("/v1/conversations/v_nothere00000.nothere1/messages", token: sue.session.token)
            // Answered like someone else's conversation: ids cannot be probed.
            #expect(missing.status == 403 && missing.json?["error"]?["code"]?.stringValue == "forbidden", "\(missing)")
            let malformed = try await http.get("/v1/conversations/v_bad:id/messages", token: sue.session.token)
            #expect(malformed.status == 400 && malformed.json?["error"]?["code"]?.stringValue == "invalid_field", "\(malformed)")

            // Paging: pages of 3 following `next`.
            var page = try await http.history(annID, token: ann.session.token, after: 0, limit: 3)
            var collected: [JSONValue] = []
            var pages = 0
            while true {
                pages += 1
                try #require(page.status == 200 && pages <= 20, "page \(pages): \(page)")
                let json = try #require(page.json)
                let entries = json["entries"]?.arrayValue ?? []
                #expect(json["conversationId"]?.stringValue == annID && json["firstAvailableSeq"]?.intValue == 1, "\(page)")
                #expect(entries.count == min(3, lastSeq - collected.count), "page \(pages) has \(entries.count) entries: \(page)")
                collected += entries
                guard let next = json["next"]?.stringValue else { break }
                let lastOnPage = entries.last?["seq"]?.intValue ?? -1
                #expect(next == "\(path)?after=\(lastOnPage)&limit=3", "next of page \(pages): \(next)")
                page = try await http.get(next, token: ann.session.token)
            }
            #expect(collected.compactMap { $0["seq"]?.intValue } == Self.seqRange(1, lastSeq), "paged seqs: \(collected.compactMap { $0["seq"]?.intValue })")
            #expect(pages == (lastSeq + 2) / 3, "pages: \(pages) for \(lastSeq) entries; the last page must have next null")
            let ids = collected.filter { $0["type"]?.stringValue == "message" }.compactMap { $0["id"]?.stringValue }
            #expect(ids == ["ann-1"] + annIDs, "messages in history: \(ids)")
            let everything = try await http.history(annID, token: ann.session.token)
            #expect(everything.json?["entries"]?.arrayValue?.count == lastSeq && everything.json?["next"] == .null, "default page: \(everything)")
            let afterLast = try await http.history(annID, token: ann.session.token, after: lastSeq)
            #expect(afterLast.json?["entries"]?.arrayValue?.isEmpty == true && afterLast.json?["next"] == .null, "\(afterLast)")
            for limit in [0, 201] {
                let response = try await http.history(annID, token: ann.session.token, limit: limit)
                #expect(response.status == 400 && response.json?["error"]?["code"]?.stringValue == "invalid_field", "limit \(limit): \(response)")
            }
        }
    }

    /// Typing reaches the other side (rate-limited, never stored); read positions show to the
    /// other side as `read` frames.
    @Test("lifecycle: typing is forwarded, not stored; read receipts reach the other side")
    func lifecycleTypingAndRead() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 2)
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (conversationID, _) = try await Self.openConversation(ann, messageID: "c-1")
            try await Self.awaitFrame(ada.client, "conversation.assigned") { $0.string("conversationId") == conversationID }

            try await ann.client.sendTyping(conversationID: conversationID)
            let toAda = try await Self.awaitFrame(ada.client, "typing", "ann's typing")
            #expect(toAda.string("conversationId") == conversationID, "\(toAda)")
            #expect(toAda["from"]?["id"]?.stringValue == ann.id && toAda["from"]?["role"]?.stringValue == "customer", "\(toAda)")
            #expect(toAda["seq"] == nil, "typing is not numbered: \(toAda)")
            try await ada.client.sendTyping(conversationID: conversationID)
            let toAnn = try await Self.awaitFrame(ann.client, "typing", "ada's typing")
            #expect(toAnn["from"]?["id"]?.stringValue == "ada" && toAnn["from"]?["role"]?.stringValue == "agent", "\(toAnn)")
            #expect(ann.client.received(type: "typing").count == 1 && ada.client.received(type: "typing").count == 1,
                    "typing must not come back to the sender: ann \(ann.client.received(type: "typing")), ada \(ada.client.received(type: "typing"))")

            // A burst is forwarded at most once per second.
            try await Task.sleep(for: .milliseconds(1100))
            for _ in 1...5 { try await ann.client.sendTyping(conversationID: conversationID) }
            try await Self.settle(.milliseconds(1500), [ann.client, ada.client])
            let typingCount = ada.client.received(type: "typing").count
            #expect((2...3).contains(typingCount), "ada got \(typingCount) typing frames (1 + a burst of 5 within a second)")
            Self.expectNoErrors(ann.client)

            // Read receipts.
            try await ann.client.sendMessage(id: "c-2", body: "are you there?")
            let message = try await Self.awaitMessage(ada.client, id: "c-2")
            let seq = try #require(message.int("seq"))
            try await ada.client.sendRead(conversationID: conversationID, seq: seq)
            let readByAda = try await Self.awaitFrame(ann.client, "read", "ada's read receipt")
            #expect(readByAda.string("conversationId") == conversationID && readByAda.int("seq") == seq, "\(readByAda)")
            #expect(readByAda.string("userId") == "ada" && readByAda.string("role") == "agent", "\(readByAda)")
            try await ann.client.sendRead(conversationID: conversationID, seq: seq)
            let readByAnn = try await Self.awaitFrame(ada.client, "read", "ann's read receipt")
            #expect(readByAnn.string("userId") == ann.id && readByAnn.string("role") == "customer" && readByAnn.int("seq") == seq, "\(readByAnn)")
            // A read that does not move forward is not shown; nor is one to the reader itself.
            try await ada.client.sendRead(conversationID: conversationID, seq: 1)
            try await Self.settle(.milliseconds(500), [ann.client, ada.client])
            #expect(ann.client.received(type: "read").count == 1, "a backwards read was shown: \(ann.client.received(type: "read"))")
            #expect(ada.client.received(type: "read").allSatisfy { $0.string("userId") == ann.id }, "\(ada.client.received(type: "read"))")
            // A read past the last seq counts as the last seq, and is shown as that (docs/protocol.md).
            try await ann.client.sendMessage(id: "c-3", body: "hello?")
            let lastSeq = try #require(try await Self.awaitMessage(ada.client, id: "c-3").int("seq"))
            try await ada.client.sendRead(conversationID: conversationID, seq: lastSeq + 1_000)
            let pastTheEnd = try await Self.awaitFrame(ann.client, "read", "ada's read past the end") { $0.int("seq") != seq }
            #expect(pastTheEnd.int("seq") == lastSeq, "shown as the last seq: \(pastTheEnd)")
            try await ada.client.sendRead(conversationID: conversationID, seq: lastSeq + 2_000)
            try await Self.settle(.milliseconds(500), [ann.client, ada.client])
            #expect(ann.client.received(type: "read").count == 2, "a read that stays at the last seq was shown: \(ann.client.received(type: "read"))")

            // Nothing ephemeral in the history, numbering untouched.
            let history = try await gateway.http.fullHistory(conversationID, token: ann.session.token)
            let types = history.compactMap { $0["type"]?.stringValue }
            #expect(!types.contains("typing") && !types.contains("read"), "history holds \(types)")
            #expect(history.compactMap { $0["seq"]?.intValue } == Self.seqRange(1, lastSeq), "history seqs: \(types)")
            Self.expectNoErrors(ada.client)
            Self.expectNoErrors(ann.client)
        }
    }
}
