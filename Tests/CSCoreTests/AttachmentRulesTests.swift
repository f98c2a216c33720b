import CSCore
import CSServer
import Foundation
import Testing

/// The pure rules of attachments: the type sniffer (magic bytes, not names), ids that can never
/// be paths, cleaned display names, the message frame's reference, and signed download links.
@Suite("Attachment rules")
struct AttachmentRulesTests {
    static let pngHeader: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]

    @Test func sniffsEachAllowedTypeByItsMagicBytes() {
        #expect(AttachmentType.sniff(Self.pngHeader, complete: true) == .png)
        #expect(AttachmentType.sniff([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], complete: true) == .jpeg)
        #expect(AttachmentType.sniff(Array("GIF89a\u{1}\u{0}".utf8), complete: true) == .gif)
        #expect(AttachmentType.sniff(Array("GIF87a".utf8), complete: true) == .gif)
        #expect(AttachmentType.sniff(Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8), complete: true) == .webp)
        #expect(AttachmentType.sniff(Array("%PDF-1.7\n".utf8), complete: true) == .pdf)
        #expect(AttachmentType.sniff(Array("Order 42 never came.\r\nRegards, Ann\n".utf8), complete: true) == .text)
        #expect(AttachmentType.sniff(Array("Grüße, 👍".utf8), complete: true) == .text)
    }

    @Test func refusesOtherBytes() {
        // HTML, SVG and scripts pass as text by their bytes? No: they are text, served as
        // text/plain with nosniff; but binaries and look-alikes are refused.
        #expect(AttachmentType.sniff([0x4D, 0x5A, 0x90, 0x00], complete: true) == nil)  // "MZ" executable (NUL inside)
        #expect(AttachmentType.sniff([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1], complete: true) == nil)  // ELF
        #expect(AttachmentType.sniff([0x50, 0x4B, 0x03, 0x04, 0x14, 0], complete: true) == nil)  // ZIP
        #expect(AttachmentType.sniff(Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVEfmt ".utf8), complete: true) == nil)  // RIFF, not WebP
        #expect(AttachmentType.sniff(Array(Self.pngHeader.prefix(7)), complete: true) == nil)  // PNG cut short
        #expect(AttachmentType.sniff([0xC3, 0x28], complete: true) == nil)  // invalid UTF-8
        #expect(AttachmentType.sniff([], complete: true) == nil)
    }

    @Test func textCutInsideACharacterAtThePrefixEndIsStillText() {
        let text = Array(String(repeating: "€", count: 200).utf8)  // 600 bytes, 3 per character
        let prefix = Array(text.prefix(AttachmentType.sniffLength))  // 170 characters and 2 bytes of the next
        #expect(AttachmentType.sniff(prefix, complete: false) == .text)
        #expect(AttachmentType.sniff(prefix, complete: true) == nil)  // the whole file: a cut character is invalid
    }

    @Test func onlyImagesAreShownInline() {
        #expect(AttachmentType.allCases.filter(\.isInlineImage) == [.png, .jpeg, .gif, .webp])
    }

    @Test func idsAreNeverPaths() {
        let id = AttachmentID.new()
        #expect(AttachmentID.isValid(id))
        #expect(id != AttachmentID.new())
        for bad in ["", "f_", "../etc/passwd", "f_..", "f_" + String(repeating: "a", count: 25), "f_" + String(repeating: "a", count: 27),
            "f_" + String(repeating: ".", count: 26), "f_" + String(repeating: "A", count: 26), "g_" + String(repeating: "a", count: 26),
            "f_" + String(repeating: "a", count: 25) + "/"]
        {
            #expect(!AttachmentID.isValid(bad), "\(bad)")
        }
    }

    @Test func namesAreCleaned() {
        #expect(AttachmentName.clean("invoice 42.pdf") == "invoice 42.pdf")
        #expect(AttachmentName.clean("../../etc/passwd") == "_.._etc_passwd")
        #expect(AttachmentName.clean("a\"b\\c\r\nd") == "a_b_c__d")
        #expect(AttachmentName.clean(nil) == "file")
        #expect(AttachmentName.clean("  ") == "file")
        #expect(AttachmentName.clean(String(repeating: "x", count: 500)).count == AttachmentName.maxCharacters)
    }

    @Test func aMessageFrameCarriesAnAttachmentID() throws {
        let id = AttachmentID.new()
        let frame = try ClientFrame.decode(
            #"{"type":"message","id":"c-1","conversationId":"v_ann.k1","attachment":{"id":"\#(id)","name":"x","type":"image/png","size":1}}"#)
        #expect(frame == .attachmentMessage(id: "c-1", conversationID: "v_ann.k1", body: "", attachmentID: id))
        // Without a conversation, with a bad id, or with a skill: refused.
        for text in [
            #"{"type":"message","id":"c-1","attachment":{"id":"\#(id)"}}"#,
            #"{"type":"message","id":"c-1","conversationId":"v_ann.k1","attachment":{"id":"../x"}}"#,
            #"{"type":"message","id":"c-1","conversationId":"v_ann.k1","attachment":{}}"#,
            #"{"type":"message","id":"c-1","conversationId":"v_ann.k1","skill":"billing","attachment":{"id":"\#(id)"}}"#,
        ] {
            #expect(throws: ChatError.self) { try ClientFrame.decode(text) }
        }
    }

    @Test func theReferenceTravelsThroughTheInboundStreamAndIntoTheFrame() {
        let reference = AttachmentReference(id: AttachmentID.new(), name: "Bild \"1\".png", type: .png, size: 1234)
        var entry = InboundEntry(kind: .message, userID: "v_ann", clientMessageID: "c-1", conversationID: "v_ann.k1")
        entry.attachment = reference
        let decoded = InboundEntry(fields: Dictionary(uniqueKeysWithValues: entry.fields.map { ($0.0, $0.1) }))
        #expect(decoded == entry)
        let frame = CommittedFrame.message(
            conversationID: "v_ann.k1", clientMessageID: "c-1", from: Participant(id: "v_ann", role: .customer, name: "Ann"), body: "",
            timestamp: 1, attachment: reference
        ).render(seq: 3)
        let object = try? JSONSerialization.jsonObject(with: Data(frame.utf8)) as? [String: Any]
        let attachment = object?["attachment"] as? [String: Any]
        #expect(attachment?["id"] as? String == reference.id)
        #expect(attachment?["name"] as? String == "Bild \"1\".png")
        #expect(attachment?["type"] as? String == "image/png")
        #expect(attachment?["size"] as? Int == 1234)
        // A message without body and without attachment is not an entry.
        entry.attachment = nil
        #expect(InboundEntry(fields: Dictionary(uniqueKeysWithValues: entry.fields.map { ($0.0, $0.1) })) == nil)
    }

    @Test func linksAreSignedPerAttachmentAndExpire() {
        let links = AttachmentLinks(secret: "test-secret-0123456789abcdef-0123456789", lifetime: 300)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let id = AttachmentID.new()
        let (token, expiresAt) = links.token(for: id, now: now)
        #expect(expiresAt == now.addingTimeInterval(300))
        #expect(links.verify(token, for: id, now: now) == .valid)
        #expect(links.verify(token, for: id, now: now.addingTimeInterval(301)) == .expired)
        #expect(links.verify(token, for: AttachmentID.new(), now: now) == .invalid)
        let other = AttachmentLinks(secret: "another-secret-0123456789abcdef-0123", lifetime: 300)
        #expect(other.verify(token, for: id, now: now) == .invalid)
        // A later expiry with the old MAC: refused.
        let mac = token.split(separator: ".")[1]
        #expect(links.verify("1900000000.\(mac)", for: id, now: now) == .invalid)
        #expect(links.verify("", for: id, now: now) == .invalid)
        #expect(links.verify("abc", for: id, now: now) == .invalid)
    }
}
