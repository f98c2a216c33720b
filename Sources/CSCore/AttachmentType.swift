/// The file types an upload may have (docs/api.md, "Attachments"), decided by the file's first
/// bytes ("magic bytes"), never by its name or the client's `Content-Type`: a name or a header is
/// whatever the uploader wants it to be, the bytes are what a viewer will parse.
public enum AttachmentType: String, Sendable, CaseIterable, Codable {
    case png = "image/png"
    case jpeg = "image/jpeg"
    case gif = "image/gif"
    case webp = "image/webp"
    case pdf = "application/pdf"
    case text = "text/plain"

    /// The MIME type served (`Content-Type`) and shown in the attachment reference.
    public var mimeType: String { rawValue }

    /// Images every browser shows safely inline (thumbnails); everything else is served as a
    /// download (`Content-Disposition: attachment`), so a PDF or text file never runs in our origin.
    public var isInlineImage: Bool {
        switch self {
        case .png, .jpeg, .gif, .webp: true
        case .pdf, .text: false
        }
    }

    /// How many leading bytes `sniff` looks at (fewer when the file is shorter).
    public static let sniffLength = 512

    /// The type of a file whose first bytes are `prefix` (`sniffLength` of them, or the whole file
    /// when `complete`); nil when the type is not allowed. Pure: unit-tested without I/O.
    ///
    /// Text is the fallback: no NUL or other control bytes (besides tab, line feed, form feed,
    /// carriage return, escape) and valid UTF-8 in the prefix, a sequence cut at the prefix's
    /// end allowed (the WHATWG MIME sniffing rule for "binary data bytes", plus UTF-8). An empty
    /// file is no type at all.
    public static func sniff(_ prefix: some Collection<UInt8>, complete: Bool) -> AttachmentType? {
        let bytes = Array(prefix.prefix(sniffLength))
        guard !bytes.isEmpty else { return nil }
        func starts(_ signature: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + signature.count && Array(bytes[offset..<offset + signature.count]) == signature
        }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBPVP".utf8), at: 8) { return .webp }
        if starts(Array("%PDF-".utf8)) { return .pdf }
        return isText(bytes, truncated: !complete && bytes.count == sniffLength) ? .text : nil
    }

    private static func isText(_ bytes: [UInt8], truncated: Bool) -> Bool {
        let allowedControls: Set<UInt8> = [0x09, 0x0A, 0x0C, 0x0D, 0x1B]
        if bytes.contains(where: { ($0 < 0x20 && !allowedControls.contains($0)) || $0 == 0x7F }) { return false }
        var checked = bytes[...]
        // A multi-byte sequence cut by the prefix's end is not an error: drop up to 3 trailing bytes
        // of an incomplete sequence.
        if truncated, let lead = checked.lastIndex(where: { $0 & 0xC0 != 0x80 }), checked.endIndex - lead <= 3 {
            let byte = checked[lead]
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            if checked.endIndex - lead < length { checked = checked[..<lead] }
        }
        return String(validating: checked, as: UTF8.self) != nil
    }
}
