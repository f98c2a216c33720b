import CSCore
import CSTestSupport
import Foundation
import Testing

/// Attachment limits with real processes (docs/api.md "Attachments", docs/reliability.md):
/// over-size refused before the body is read, a growing body cut off, expired links, orphans
/// swept, the per-user upload rate.
extension EndToEnd {
    static let attachmentLimitArguments = [
        "--attachment-max-bytes", "65536", "--attachment-link-seconds", "1", "--attachment-orphan-seconds", "3",
        "--attachment-uploads-per-minute", "6",
    ]

    @Test("attachments: 413 before the body, a body past the limit cut off, expired links, orphans swept, upload rate")
    func attachmentLimits() async throws {
        let directory = try Self.attachmentsDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try await Self.withSystem(gatewayArguments: ["--attachments-dir", directory.path] + Self.attachmentLimitArguments) { cluster, scope in
            let gateway = cluster.gateways[0]
            let http = gateway.http
            let (ada, ann, conversationID) = try await Self.conversationHeldByAda(cluster, scope, gateway)
            let path = "/v1/conversations/\(conversationID)/attachments?name=big.txt"

            // 200 MB announced, not one byte of it sent: the 413 comes, and the connection closes.
            let announced = try await SlowHTTPClient.trickle(port: gateway.port, chunks: [
                "POST \(path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ann.session.token)\r\nContent-Length: 209715200\r\n\r\n",
            ], pause: .milliseconds(10), limit: .seconds(10))
            #expect(announced.received.hasPrefix("HTTP/1.1 413"), "\(announced)")
            #expect(announced.received.contains(#""code":"too_large""#), "\(announced)")
            #expect(announced.closedAfter != nil, "the gateway hangs up instead of waiting for the body: \(announced)")

            // A chunked body that grows past 64 KiB: cut off with 413, nothing left on disk.
            let chunk = String(repeating: "a", count: 16_384)
            let hex = String(chunk.utf8.count, radix: 16)
            let head = "POST \(path) HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(ann.session.token)\r\nTransfer-Encoding: chunked\r\n\r\n"
            let grown = try await SlowHTTPClient.trickle(
                port: gateway.port, chunks: [head] + Array(repeating: "\(hex)\r\n\(chunk)\r\n", count: 12), pause: .milliseconds(20), limit: .seconds(10))
            #expect(grown.received.hasPrefix("HTTP/1.1 413"), "\(grown)")
            #expect(grown.closedAfter != nil, "\(grown)")
            #expect(Self.storedFiles(directory).isEmpty, "no partial file: \(Self.storedFiles(directory))")
            // Just under the limit is fine.
            let fits = try await Self.upload(http, conversationID: conversationID, bytes: Array(repeating: 0x61, count: 65_536), name: "fits.txt", token: ann.session.token)
            #expect(fits.status == 201 && fits.json?["type"]?.stringValue == "text/plain", "\(fits)")
            let fitsID = try #require(fits.json?["id"]?.stringValue)

            // Links die after their lifetime (1 s here).
            let sent = try await Self.upload(http, conversationID: conversationID, bytes: Self.pngBytes, name: "a.png", token: ann.session.token)
            let sentID = try #require(sent.json?["id"]?.stringValue, "\(sent)")
            try await Self.sendAttachment(ann.client, id: "ann-png", conversationID: conversationID, attachment: ["id": .string(sentID)])
            _ = try await Self.awaitMessage(ada.client, id: "ann-png")
            let link = try await http.get("/v1/conversations/\(conversationID)/attachments/\(sentID)/link", token: ada.session.token)
            let url = try #require(link.json?["url"]?.stringValue, "\(link)")
            try await Task.sleep(for: .milliseconds(2_100))
            let expired = try await http.get(url)
            #expect(expired.status == 403 && expired.json?["error"]?["code"]?.stringValue == "forbidden", "\(expired)")
            #expect(expired.json?["error"]?["message"]?.stringValue?.contains("expired") == true, "\(expired)")

            // Orphans (never sent) go after 3 s; the sent one stays.
            try await Task.sleep(for: .seconds(5))
            let orphan = try await http.get("/v1/conversations/\(conversationID)/attachments/\(fitsID)/link", token: ann.session.token)
            #expect(orphan.status == 404, "an orphan is swept: \(orphan)")
            #expect(Self.storedFiles(directory) == [sentID, sentID + ".json"], "\(Self.storedFiles(directory))")
            let kept = try await http.get("/v1/conversations/\(conversationID)/attachments/\(sentID)/link", token: ann.session.token)
            #expect(kept.status == 200, "a sent attachment is kept: \(kept)")

            // Six uploads a minute per user (a burst of six, refilled at one per 10 s): three were
            // counted above (the 413 by Content-Length was refused before), so three more pass
            // and the fifth is refused.
            var statuses: [Int] = []
            for _ in 0..<5 {
                statuses.append(try await Self.upload(http, conversationID: conversationID, bytes: Self.pngBytes, name: "r.png", token: ann.session.token).status)
            }
            #expect(statuses.prefix(3) == [201, 201, 201] && statuses.last == 429, "\(statuses)")
            let adaUpload = try await Self.upload(http, conversationID: conversationID, bytes: Self.pngBytes, name: "r.png", token: ada.session.token)
            #expect(adaUpload.status == 201, "per user, not per address: \(adaUpload)")
        }
    }
}
