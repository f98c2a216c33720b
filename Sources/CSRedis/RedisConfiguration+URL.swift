extension RedisConfiguration {
    /// Parses `redis://[user[:password]@]host[:port][/db]`.
    ///
    /// `redis://:secret@host` authenticates as the default user; user and password may be
    /// percent-encoded; an IPv6 host is written in brackets (`redis://[::1]:6380`).
    /// Options not present in the URL keep their defaults. `rediss://` (TLS) is not supported.
    /// - Throws: ``RedisError`` with code ``RedisError/Code/invalidURL``.
    public init(url: String) throws {
        func invalid(_ reason: String) -> RedisError {
            RedisError(code: .invalidURL, message: "\(reason) in Redis URL '\(Self.redacted(url))'")
        }
        self.init()
        guard let schemeEnd = url.firstRange(of: "://") else { throw invalid("missing scheme") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "redis" else { throw invalid("unsupported scheme '\(scheme)'") }
        var rest = Substring(url[schemeEnd.upperBound...])
        if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            guard rest[query...].count <= 1 else { throw invalid("query parameters are not supported") }
            rest = rest[..<query]
        }

        var authority = rest
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = rest[rest.index(after: slash)...]
        }

        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                let user = try Self.percentDecoded(userInfo[..<colon], invalid)
                self.username = user.isEmpty ? nil : user
                self.password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], invalid)
            } else if !userInfo.isEmpty {
                self.username = try Self.percentDecoded(userInfo, invalid)
            }
        }

        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("unterminated IPv6 address") }
            self.host = String(authority[authority.index(after: authority.startIndex)..<close])
            let afterHost = authority[authority.index(after: close)...]
            if !afterHost.isEmpty {
                guard afterHost.hasPrefix(":") else { throw invalid("unexpected text after IPv6 address") }
                portText = afterHost.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            self.host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            self.host = String(authority)
        }
        guard !self.host.isEmpty else { throw invalid("missing host") }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else { throw invalid("invalid port") }
            self.port = port
        }

        if !path.isEmpty {
            guard let database = Int(path), database >= 0 else { throw invalid("invalid database number") }
            self.database = database
        }
    }

    /// The URL with any password replaced by `***`, safe for logs and error messages.
    static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://"),
              let at = url[schemeEnd.upperBound...].lastIndex(of: "@")
        else { return url }
        let userInfo = url[schemeEnd.upperBound..<at]
        guard let colon = userInfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    private static func percentDecoded(_ text: Substring, _ invalid: (String) -> RedisError) throws -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next(), let low = iterator.next(),
                  let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { throw invalid("invalid percent-encoding") }
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
