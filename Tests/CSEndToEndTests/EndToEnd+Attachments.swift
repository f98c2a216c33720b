import CSCore
import CSTestSupport
import Foundation
import Testing

/// Attachments (docs/api.md "Attachments", docs/protocol.md "Attachments") with real gateway and
/// dispatcher processes: upload, a message carrying the reference, download by the agent, and
/// everyone else refused.
extension EndToEnd {
    static let pngBytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + Array(repeating: 0x42, count: 3000)
    static let pdfBytes: [UInt8] = Array("%PDF-1.4\n%âãÏÓ\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".utf8)

    /// A fresh directory for one test's uploads.
    static func attachmentsDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cs-attachments-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The files in `directory` (hidden ones too: a transactional write's temporary would show).
    static func storedFiles(_ directory: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted()
    }

    static func upload(
        _ http: GatewayHTTP, conversationID: String, bytes: [UInt8], name: String, token: String?, contentType: String = "application/octet-stream"
    ) async throws -> HTTPResponse {
        var headers = GatewayHTTP.bearerHeader(token)
        headers["Content-Type"] = contentType
        let path = "/v1/conversations/\(conversationID)/attachments?name=\(name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        return try await http.request("POST", path, body: Data(bytes), headers: headers, timeout: .seconds(30))
    }

    static func sendAttachment(_ client: ChatClient, id: String, conversationID: String, attachment: [String: JSONValue], body: String = "") async throws {
        try await client.send(.object([
            "type": "message", "id": .string(id), "conversationId": .string(conversationID), "body": .string(body),
            "attachment": .object(attachment),
        ]))
    }

    @Test("attachments: upload, send, download by the agent and a supervisor; strangers refused")
    func attachmentFlow() async throws {
        let directory = try Self.attachmentsDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.withSystem(gatewayArguments: ["--attachments-dir", directory.path]) { cluster, scope in
            let gateway = cluster.gateways[0]
            let http = gateway.http
            let (ada, ann, conversationID) = try await Self.conversationHeldByAda(cluster, scope, gateway)

            // Ann uploads a PNG under a misleading name and type: the bytes decide.
            let uploaded = try await Self.upload(http, conversationID: conversationID, bytes: Self.pngBytes, name: "../../evil.exe", token: ann.session.token, contentType: "application/x-msdownload")
            try #require(uploaded.status == 201, "\(uploaded)")
            let attachmentID = try #require(uploaded.json?["id"]?.stringValue)
            #expect(uploaded.json?["type"]?.stringValue == "image/png" && uploaded.json?["size"]?.intValue == Self.pngBytes.count, "\(uploaded)")
            #expect(uploaded.json?["name"]?.stringValue == "_.._evil.exe", "a name is never a path: \(uploaded)")
            #expect(Self.storedFiles(directory) == [attachmentID, attachmentID + ".json"], "\(Self.storedFiles(directory))")

            // The message carries the upload's own name, type and size, whatever the client claims.
            try await Self.sendAttachment(ann.client, id: "ann-file", conversationID: conversationID, attachment: [
                "id": .string(attachmentID), "name": "fake.txt", "type": "text/plain", "size": 1,
            ], body: "my screenshot")
            let received = try await Self.awaitMessage(ada.client, id: "ann-file")
            #expect(received["attachment"]?["id"]?.stringValue == attachmentID, "\(received)")
            #expect(received["attachment"]?["name"]?.stringValue == "_.._evil.exe" && received["attachment"]?["type"]?.stringValue == "image/png", "\(received)")
            #expect(received["attachment"]?["size"]?.intValue == Self.pngBytes.count && received.string("body") == "my screenshot", "\(received)")
            // And so does the history.
            let history = try await http.get("/v1/conversations/\(conversationID)/messages", token: ada.session.token)
            #expect(history.bodyText.contains(attachmentID), "\(history)")

            // Ada gets a link and downloads: the bytes, an inline image, the safety headers.
            let link = try await http.get("/v1/conversations/\(conversationID)/attachments/\(attachmentID)/link", token: ada.session.token)
            try #require(link.status == 200, "\(link)")
            let url = try #require(link.json?["url"]?.stringValue)
            let download = try await http.get(url)
            #expect(download.status == 200 && Array(download.body) == Self.pngBytes, "\(download.status)")
            #expect(download.headers["content-type"] == "image/png", "\(download.headers)")
            #expect(download.headers["content-disposition"]?.hasPrefix("inline;") == true, "\(download.headers)")
            #expect(download.headers["x-content-type-options"] == "nosniff", "\(download.headers)")
            #expect(download.headers["content-security-policy"] == "sandbox; default-src 'none'", "\(download.headers)")

            // A PDF is served as a download.
            let pdf = try await Self.upload(http, conversationID: conversationID, bytes: Self.pdfBytes, name: "Rechnung März.pdf", token: ada.session.token)
            try #require(pdf.status == 201 && pdf.json?["type"]?.stringValue == "application/pdf", "\(pdf)")
            let pdfID = try #require(pdf.json?["id"]?.stringValue)
            let pdfLink = try await http.get("/v1/conversations/\(conversationID)/attachments/\(pdfID)/link", token: ann.session.token)
            let pdfDownload = try await http.get(try #require(pdfLink.json?["url"]?.stringValue))
            #expect(pdfDownload.status == 200 && Array(pdfDownload.body) == Self.pdfBytes, "\(pdfDownload.status)")
            #expect(pdfDownload.headers["content-disposition"]?.hasPrefix("attachment;") == true, "\(pdfDownload.headers)")
            #expect(pdfDownload.headers["content-disposition"]?.contains("filename*=UTF-8''Rechnung%20M%C3%A4rz.pdf") == true, "\(pdfDownload.headers)")

            // Wrong magic bytes (an ELF executable named .png): 415, nothing stored.
            let before = Self.storedFiles(directory)
            let elf = try await Self.upload(http, conversationID: conversationID, bytes: [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + Array(repeating: 0, count: 2000), name: "cat.png", token: ann.session.token, contentType: "image/png")
            #expect(elf.status == 415 && elf.json?["error"]?["code"]?.stringValue == "unsupported_type", "\(elf)")
            #expect(Self.storedFiles(directory) == before)

            // A supervisor may read: a link.
            try await cluster.addAgent(id: "sue", name: "Sue", password: Self.agentPassword, skills: ["supervision"], max: 1, role: "supervisor")
            let sue = try await gateway.http.agentLogin(agentID: "sue", password: Self.agentPassword)
            let sueLink = try await http.get("/v1/conversations/\(conversationID)/attachments/\(attachmentID)/link", token: sue.token)
            #expect(sueLink.status == 200, "\(sueLink)")
            let sueUpload = try await Self.upload(http, conversationID: conversationID, bytes: Self.pngBytes, name: "x.png", token: sue.token)
            #expect(sueUpload.status == 403, "supervisors read, they do not write: \(sueUpload)")

            // Strangers: another customer, an unrelated agent.
            let cid = try await Self.connectCustomer(scope, gateway, name: "Cid")
            let (cidConversation, _) = try await Self.openConversation(cid, messageID: "cid-1")
            let bob = try await gateway.http.agentLogin(agentID: "bob", password: Self.agentPassword)
            for (who, token) in [("another customer", cid.session.token), ("an unrelated agent", bob.token)] {
                let upload = try await Self.upload(http, conversationID: conversationID, bytes: Self.pngBytes, name: "x.png", token: token)
                #expect(upload.status == 403 && upload.json?["error"]?["code"]?.stringValue == "forbidden", "\(who) uploads: \(upload)")
                let link = try await http.get("/v1/conversations/\(conversationID)/attachments/\(attachmentID)/link", token: token)
                #expect(link.status == 403 && link.json?["error"]?["code"]?.stringValue == "forbidden", "\(who) asks for a link: \(link)")
            }
            // Cid's own conversation does not hold Ann's upload: 404, not the file.
            let elsewhere = try await http.get("/v1/conversations/\(cidConversation)/attachments/\(attachmentID)/link", token: cid.session.token)
            #expect(elsewhere.status == 404 && elsewhere.json?["error"]?["code"]?.stringValue == "not_found", "\(elsewhere)")
            // Cid references Ann's upload in his conversation: refused, nothing delivered.
            try await Self.sendAttachment(cid.client, id: "cid-steal", conversationID: cidConversation, attachment: ["id": .string(attachmentID)])
            let refused = try await Self.awaitFrame(cid.client, "error") { $0.string("id") == "cid-steal" }
            #expect(refused.string("code") == "not_found", "\(refused)")
            // Ada references Ann's upload: uploads are the uploader's to send.
            try await Self.sendAttachment(ada.client, id: "ada-reuse", conversationID: conversationID, attachment: ["id": .string(attachmentID)])
            let notHers = try await Self.awaitFrame(ada.client, "error") { $0.string("id") == "ada-reuse" }
            #expect(notHers.string("code") == "not_found", "\(notHers)")

            // Downloads need a link made for that file.
            let noToken = try await http.get("/v1/attachments/\(attachmentID)")
            #expect(noToken.status == 403 && noToken.json?["error"]?["code"]?.stringValue == "forbidden", "\(noToken)")
            let pdfToken = try #require(pdfLink.json?["url"]?.stringValue?.components(separatedBy: "token=").last)
            let swapped = try await http.get("/v1/attachments/\(attachmentID)?token=\(pdfToken)")
            #expect(swapped.status == 403, "another file's token: \(swapped)")
            let unknown = try await http.get("/v1/attachments/..%2F..%2Fetc%2Fpasswd?token=\(pdfToken)")
            #expect(unknown.status == 404, "\(unknown)")
            let authorized = try await http.get("/v1/attachments/\(attachmentID)", token: ada.session.token)
            #expect(authorized.status == 403, "a bearer token is not a link: \(authorized)")

            // An upload belongs to its conversation: Ann cannot carry one into her next conversation.
            let kept = try await Self.upload(http, conversationID: conversationID, bytes: Self.pngBytes, name: "old.png", token: ann.session.token)
            let keptID = try #require(kept.json?["id"]?.stringValue, "\(kept)")
            try await ada.client.sendClose(id: "ada-close", conversationID: conversationID)
            _ = try await Self.awaitFrame(ann.client, "conversation.closed")
            try await ann.client.sendMessage(id: "ann-again", body: "one more question")
            let reopened = try await ann.client.waitUntil("her second conversation", timeout: .seconds(20)) { view in
                view.log.first { ($0.type == "conversation.queued" || $0.type == "conversation.assigned") && $0.string("conversationId") != conversationID }
            }
            let secondID = try #require(reopened.string("conversationId"))
            try await Self.sendAttachment(ann.client, id: "ann-carry", conversationID: secondID, attachment: ["id": .string(keptID)])
            let carried = try await Self.awaitFrame(ann.client, "error") { $0.string("id") == "ann-carry" }
            #expect(carried.string("code") == "not_found", "\(carried)")
        }
    }
}
