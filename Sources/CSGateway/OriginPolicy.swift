/// Which browser pages may open the WebSocket (`--allowed-origins`, docs/operations.md).
///
/// Browsers send `Origin` on every WebSocket handshake and let any page connect anywhere, so the
/// gateway decides: no `Origin` (a non-browser client) passes, the gateway's own origin (the
/// `Host` the request came to) passes, and otherwise the origin must be on the allow-list.
public struct OriginPolicy: Sendable {
    let allowed: Set<String>
    let allowsAny: Bool

    public init(allowedOrigins: [String]) {
        allowed = Set(allowedOrigins.compactMap(GatewayConfiguration.normalizedOrigin))
        allowsAny = allowedOrigins.contains("*")
    }

    /// Whether a handshake with `origin` (nil: the header is absent) sent to `host` may upgrade.
    public func allows(origin: String?, host: String?) -> Bool {
        guard let origin else { return true }
        if allowsAny { return true }
        // Browsers send an http(s) origin, or `null` for opaque ones (sandboxed frames, files).
        // Anything else (e.g. `ws://127.0.0.1` from a WebSocket library) is not a browser page.
        let lowered = origin.lowercased()
        if !lowered.hasPrefix("http://") && !lowered.hasPrefix("https://") && lowered != "null" { return true }
        guard let normalized = GatewayConfiguration.normalizedOrigin(origin) else { return false }
        if allowed.contains(normalized) { return true }
        guard let host = host?.lowercased(), !host.isEmpty else { return false }
        // Same origin: the page was served by this gateway (or the proxy in front of it, which
        // keeps the Host header); a TLS-terminating proxy makes the scheme differ, so only the
        // authority is compared, with the default ports made explicit on both sides.
        let authority = normalized.split(separator: "/").last.map(String.init) ?? ""
        return Self.withPort(authority, https: normalized.hasPrefix("https:")) == Self.withPort(host, https: normalized.hasPrefix("https:"))
    }

    private static func withPort(_ authority: String, https: Bool) -> String {
        let hasPort = authority.hasPrefix("[") ? authority.contains("]:") : authority.contains(":")
        return hasPort ? authority : authority + (https ? ":443" : ":80")
    }
}

extension GatewayConfiguration {
    /// `scheme://host[:port]` in lowercase without a trailing slash, or nil when `text` is not an
    /// http(s) origin (a path, a query, user info or the opaque origin `null` make it invalid).
    public static func normalizedOrigin(_ text: String) -> String? {
        var value = text.lowercased()
        if value.hasSuffix("/") { value.removeLast() }
        let scheme: String
        if value.hasPrefix("http://") { scheme = "http://" } else if value.hasPrefix("https://") { scheme = "https://" } else { return nil }
        let authority = value.dropFirst(scheme.count)
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-:[]")
        guard !authority.isEmpty, authority.allSatisfy(allowed.contains), !authority.hasPrefix(":") else { return nil }
        return value
    }
}
