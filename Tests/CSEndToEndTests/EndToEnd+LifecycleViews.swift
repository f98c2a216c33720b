import CSTestSupport
import Foundation
import Testing

/// What staff see on connect (`conversations`) and offline hours (`POST /v1/offline-messages`).
extension EndToEnd {
    /// An agent reconnecting gets `conversations` right after `hello`: its open conversation with
    /// the customer's name, the last three entries and the unread count. A supervisor's lists
    /// every open conversation and the queues.
    @Test("lifecycle: conversations view on connect for agents and supervisors")
    func lifecycleConversationsView() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 1)
            try await cluster.addAgent(id: "sue", name: "Sue", password: Self.agentPassword, skills: ["supervision"], max: 1, role: "supervisor")
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (annID, annEvent) = try await Self.openConversation(ann, messageID: "ann-1")
            try #require(annEvent["agent"]?["id"]?.stringValue == "ada", "\(annEvent)")
            for id in ["ann-2", "ann-3"] { try await ann.client.sendMessage(id: id, body: "text \(id)") }
            let readUpTo = try #require(try await Self.awaitMessage(ada.client, id: "ann-3").int("seq"))
            try await ada.client.sendRead(conversationID: annID, seq: readUpTo)
            try await Self.awaitFrame(ann.client, "read", "ada's read receipt")  // stored by now
            for id in ["ann-4", "ann-5"] { try await ann.client.sendMessage(id: id, body: "text \(id)") }
            let lastSeq = try #require(try await Self.awaitMessage(ada.client, id: "ann-5").int("seq"))
            let ben = try await Self.connectCustomer(scope, gateway, name: "Ben")
            let (benID, benEvent) = try await Self.openConversation(ben, messageID: "ben-1")
            try #require(benEvent.type == "conversation.queued", "ada is full: \(benEvent)")

            // The agent reconnects.
            await ada.client.close()
            let again = try await Self.reconnectStaff(scope, gateway, session: ada.session, label: "agent-ada-again")
            let view = try await Self.awaitFrame(again.client, "conversations", "ada's conversations")
            #expect(view.index == again.hello.index + 1, "conversations must come right after hello: \(Self.summary(again.client.received))")
            let items = view["items"]?.arrayValue ?? []
            #expect(items.compactMap { $0["conversationId"]?.stringValue } == [annID], "ada's open conversations only: \(view)")
            if let item = items.first {
                #expect(item["status"]?.stringValue == "assigned" && item["skill"]?.stringValue == "default", "\(item)")
                #expect(item["customer"]?["id"]?.stringValue == ann.id && item["customer"]?["name"]?.stringValue == "Ann", "\(item)")
                #expect(item["agent"]?["id"]?.stringValue == "ada" && item["agent"]?["name"]?.stringValue == "Ada", "\(item)")
                #expect(item["lastSeq"]?.intValue == lastSeq, "\(item)")
                #expect(item["unread"]?.intValue == lastSeq - readUpTo, "read up to \(readUpTo) of \(lastSeq): \(item)")
                let last = item["last"]?.arrayValue ?? []
                #expect(last.compactMap { $0["seq"]?.intValue } == Self.seqRange(lastSeq - 2, lastSeq), "last three entries: \(item)")
                #expect(last.last?["id"]?.stringValue == "ann-5" && last.last?["body"]?.stringValue == "text ann-5", "\(item)")
            }
            #expect(view["queues"] == nil, "queues are for supervisors only: \(view)")

            // The supervisor sees everything open, and the queue.
            let sue = try await Self.connectStaff(scope, gateway, id: "sue", role: "supervisor")
            let all = try await Self.awaitFrame(sue.client, "conversations", "the supervisor's conversations")
            #expect(all.index == sue.hello.index + 1, "conversations must come right after hello: \(Self.summary(sue.client.received))")
            var status: [String: String] = [:]
            for item in all["items"]?.arrayValue ?? [] {
                if let id = item["conversationId"]?.stringValue { status[id] = item["status"]?.stringValue ?? "?" }
            }
            #expect(status == [annID: "assigned", benID: "queued"], "supervisor's items: \(all)")
            let waitingItem = all["items"]?.arrayValue?.first { $0["conversationId"]?.stringValue == benID }
            #expect(waitingItem?["agent"] == .null && waitingItem?["customer"]?["name"]?.stringValue == "Ben", "\(String(describing: waitingItem))")
            let queues = all["queues"]?.arrayValue ?? []
            let defaultQueue = queues.first { $0["skill"]?.stringValue == "default" }
            #expect(defaultQueue?["waiting"]?.arrayValue?.compactMap(\.stringValue) == [benID], "queues: \(all)")
            Self.expectNoErrors(again.client)
            Self.expectNoErrors(sue.client)
        }
    }

    /// No agent online: the customer learns it (`agentsOnline: false`); a visitor leaves an
    /// offline message; the first agent to come online gets both, with the text and contact
    /// details in the history.
    @Test("lifecycle: offline hours, offline message assigned when an agent comes online")
    func lifecycleOfflineHours() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            let http = gateway.http
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 3)
            let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (annID, annEvent) = try await Self.openConversation(ann, messageID: "ann-1")
            #expect(annEvent.type == "conversation.queued" && annEvent["agentsOnline"]?.boolValue == false, "nobody online: \(annEvent)")
            let position = try await Self.awaitFrame(ann.client, "queue.position") { $0.string("conversationId") == annID }
            #expect(position["agentsOnline"]?.boolValue == false, "\(position)")

            // Leaving a message.
            let cleo = try await http.visitorSession(name: "Cleo")
            let text = "Please call me back about order 1234."
            let noToken = try await http.offlineMessage(name: "Cleo", email: "cleo@example.com", text: text, token: nil)
            #expect(noToken.status == 401, "\(noToken)")
            let adaLogin = try await http.agentLogin(agentID: "ada", password: Self.agentPassword)
            let asAgent = try await http.offlineMessage(name: "Ada", email: "ada@example.com", text: text, token: adaLogin.token)
            #expect(asAgent.status == 403 && asAgent.json?["error"]?["code"]?.stringValue == "forbidden", "agents do not leave offline messages: \(asAgent)")
            let invalid: [(String, String, String)] = [
                ("", "cleo@example.com", text), (String(repeating: "n", count: 81), "cleo@example.com", text),
                ("Cleo", "no-at-sign", text), ("Cleo", "a@", text), ("Cleo", "cleo@example.com", ""),
                ("Cleo", "cleo@example.com", String(repeating: "t", count: 4001)),
            ]
            for (name, email, body) in invalid {
                let response = try await http.offlineMessage(name: name, email: email, text: body, token: cleo.token)
                #expect(response.status == 400 && response.json?["error"]?["code"]?.stringValue == "invalid_field",
                        "name \(name.count) chars, email \(email), text \(body.count) chars: \(response)")
            }
            let accepted = try await http.offlineMessage(name: "Cleo", email: "cleo@example.com", text: text, token: cleo.token)
            #expect(accepted.status == 202 && !(accepted.json?["acceptedId"]?.stringValue ?? "").isEmpty, "\(accepted)")

            // An agent comes online and gets both.
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let annAssigned = try await Self.awaitFrame(ann.client, "conversation.assigned", "ann's conversation to go to ada")
            #expect(annAssigned["agent"]?["id"]?.stringValue == "ada", "\(annAssigned)")
            let cleoAssigned = try await Self.awaitFrame(ada.client, "conversation.assigned", "cleo's offline message to reach ada") {
                $0["customer"]?["id"]?.stringValue == cleo.visitorID
            }
            let history = cleoAssigned["history"]?.arrayValue ?? []
            let historyText = history.map(\.jsonText).joined(separator: "\n")
            #expect(historyText.contains(text), "the offline text is in the history: \(cleoAssigned)")
            #expect(historyText.contains("cleo@example.com"), "the contact details are in the history: \(cleoAssigned)")
            let offline = history.first { $0["type"]?.stringValue == "message" && $0["body"]?.stringValue == text }
            #expect(offline?["contact"] == ["name": "Cleo", "email": "cleo@example.com"], "the offline message carries the contact: \(cleoAssigned)")
            #expect(offline?["from"]?["id"]?.stringValue == cleo.visitorID, "\(String(describing: offline))")
            let cleoID = try #require(cleoAssigned.string("conversationId"))
            let stored = try await http.fullHistory(cleoID, token: ada.session.token).map(\.jsonText).joined(separator: "\n")
            #expect(stored.contains(text) && stored.contains("cleo@example.com"), "HTTP history of the offline conversation: \(stored)")
            Self.expectNoErrors(ada.client)
            Self.expectNoErrors(ann.client)
        }
    }
}
