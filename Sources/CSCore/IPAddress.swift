/// An IPv4 or IPv6 address as 16 bytes (IPv4 as IPv4-mapped IPv6, `::ffff:a.b.c.d`).
public struct IPAddress: Sendable, Equatable {
    public let bytes: [UInt8]

    public init?(_ text: String) {
        var value = Substring(text)
        if value.hasPrefix("[") && value.hasSuffix("]") { value = value.dropFirst().dropLast() }
        if let zone = value.firstIndex(of: "%") { value = value[..<zone] }
        if let v4 = Self.parseIPv4(value) {
            bytes = Array(repeating: 0, count: 10) + [0xFF, 0xFF] + v4
        } else if let v6 = Self.parseIPv6(value) {
            bytes = v6
        } else {
            return nil
        }
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let byte = UInt8(part) else { return nil }
            result.append(byte)
        }
        return result
    }

    static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard text.contains(":"), text.count <= 45 else { return nil }
        var halves: [String] = []
        var rest = text
        while let range = rest.firstRange(of: "::") {
            halves.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        halves.append(String(rest))
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            if part.isEmpty { return [] }
            var result: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    result += v4
                } else {
                    guard (1...4).contains(piece.count), let group = UInt16(piece, radix: 16) else { return nil }
                    result += [UInt8(group >> 8), UInt8(group & 0xFF)]
                }
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

/// An address block such as `127.0.0.0/8` or `::1/128` (`--rate-limit-exempt`); a bare address
/// is a block of one.
public struct CIDRBlock: Sendable, Equatable {
    public let network: IPAddress
    /// Prefix length in bits over the 16-byte form (IPv4 prefixes are offset by 96).
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(String(parts[0])) else { return nil }
        let isV4 = IPAddress.parseIPv4(parts[0]) != nil
        let maxLength = isV4 ? 32 : 128
        var length = maxLength
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...maxLength).contains(given) else { return nil }
            length = given
        }
        network = address
        prefixLength = length + (isV4 ? 96 : 0)
    }

    public func contains(_ address: IPAddress) -> Bool {
        var bits = prefixLength
        for index in 0..<16 where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if address.bytes[index] & mask != network.bytes[index] & mask { return false }
            bits -= 8
        }
        return true
    }
}
