/// What a chat message carries about a file (docs/protocol.md, "Attachments"): never the bytes,
/// which stay in the attachment store; the gateway fills these fields from its upload record, so a
/// client cannot claim another name, type or size than the upload has.
public struct AttachmentReference: Sendable, Equatable, Codable {
    public var id: String
    /// The file name as the uploader gave it, cleaned (`AttachmentName.clean`): for display and
    /// the download's `filename`, never a path.
    public var name: String
    public var type: AttachmentType
    public var size: Int

    public init(id: String, name: String, type: AttachmentType, size: Int) {
        self.id = id
        self.name = name
        self.type = type
        self.size = size
    }

    /// The reference as a JSON object: `{"id":…,"name":…,"type":…,"size":…}`.
    public var json: String {
        var json = JSONText(capacity: 96 + name.utf8.count)
        json.raw("{")
        json.field("id", id, first: true)
        json.field("name", name)
        json.field("type", type.mimeType)
        json.field("size", size)
        json.raw("}")
        return json.text
    }
}

/// Attachment ids: `f_` and 26 random letters and digits (about 132 bits), made by the gateway.
/// They name files in the store, so a value from a client is used only after `isValid` (no dots,
/// no slashes: never a path), and they cannot be guessed: an id alone gives nothing, a download
/// also needs a signed link (docs/api.md).
public enum AttachmentID {
    public static let prefix = "f_"
    public static let randomLength = 26

    public static func new() -> String { prefix + Identifier.random(randomLength) }

    public static func isValid(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == prefix.utf8.count + randomLength, value.hasPrefix(prefix) else { return false }
        return bytes.dropFirst(prefix.utf8.count).allSatisfy { (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) }
    }
}

/// The display name of an upload (the `name` query parameter): control characters, quotes,
/// backslashes and path separators become `_`, leading dots go, at most 120 characters; empty
/// becomes `file`. A name is never used as a path, but it ends up in a `Content-Disposition`
/// header and in other people's chat windows.
public enum AttachmentName {
    public static let maxCharacters = 120

    public static func clean(_ raw: String?) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in (raw ?? "").unicodeScalars.prefix(maxCharacters) {
            let bad = scalar.value < 0x20 || scalar.value == 0x7F || "/\\\"".unicodeScalars.contains(scalar)
                || (0x80...0x9F).contains(scalar.value) || (0x2028...0x2029).contains(scalar.value)
            scalars.append(bad ? "_" : scalar)
        }
        let name = String(scalars).trimmingLeading(".").trimmingWhitespace()
        return name.isEmpty ? "file" : name
    }
}

extension String {
    fileprivate func trimmingLeading(_ character: Character) -> String { String(drop { $0 == character }) }
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
