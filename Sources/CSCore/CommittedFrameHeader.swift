/// The conversation id and `seq` at the start of a committed frame, read without a JSON parser.
///
/// Committed frames always begin `{"type":"<type>","conversationId":"<id>","seq":<n>` (see
/// `CommittedFrame`); anything else (acks, errors, typing, positions) is not numbered.
public struct CommittedFrameHeader: Sendable, Equatable {
    public var conversationID: String
    public var seq: Int

    public init(conversationID: String, seq: Int) {
        self.conversationID = conversationID
        self.seq = seq
    }

    private static let typePrefix = Array(#"{"type":""#.utf8)
    private static let conversationKey = Array(#"","conversationId":""#.utf8)
    private static let seqKey = Array(#"","seq":"#.utf8)

    /// Parses the header, or returns nil for frames that carry no `seq`.
    public static func parse(_ bytes: some Collection<UInt8>) -> CommittedFrameHeader? {
        if let header = bytes.withContiguousStorageIfAvailable({ parse(UnsafeRawBufferPointer($0)) }) { return header }
        return Array(bytes).withUnsafeBytes { parse($0) }
    }

    /// Parses the header from contiguous bytes. Not generic: the gateway runs it for every frame it
    /// delivers, and a generic version called from another module runs unspecialised.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> CommittedFrameHeader? {
        var index = bytes.startIndex
        func expect(_ literal: [UInt8]) -> Bool {
            for byte in literal {
                guard index != bytes.endIndex, bytes[index] == byte else { return false }
                index = bytes.index(after: index)
            }
            return true
        }
        guard expect(typePrefix) else { return nil }
        // Frame types contain no quote or backslash.
        while index != bytes.endIndex, bytes[index] != UInt8(ascii: "\"") { index = bytes.index(after: index) }
        guard expect(conversationKey) else { return nil }
        let idStart = index
        while index != bytes.endIndex, bytes[index] != UInt8(ascii: "\"") {
            guard bytes[index] != UInt8(ascii: "\\") else { return nil }
            index = bytes.index(after: index)
        }
        let id = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[idStart..<index]), as: UTF8.self)
        guard expect(seqKey) else { return nil }
        var seq = 0
        var digits = 0
        while index != bytes.endIndex, let digit = Optional(bytes[index]), digit >= 0x30, digit <= 0x39, digits < 18 {
            seq = seq * 10 + Int(digit - 0x30)
            digits += 1
            index = bytes.index(after: index)
        }
        guard digits > 0, !id.isEmpty else { return nil }
        return CommittedFrameHeader(conversationID: id, seq: seq)
    }
}
