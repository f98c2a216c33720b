import Foundation

/// Which URLs a webhook may post to (docs/api.md "Webhooks", issue 20 "never a way in"): a webhook
/// makes our servers send requests where a supervisor says, so it must not reach what only our
/// network can reach (Redis, metrics ports, cloud metadata at 169.254.169.254, the LAN).
///
/// Only `http` and `https`, no credentials in the URL, and no private, loopback, link-local or
/// otherwise non-public address: neither as the URL's host nor as any address its name resolves
/// to (`check(resolved:)`, at registration and again at every delivery, so a name that later
/// resolves elsewhere is refused then). `allowPrivateTargets` lifts the address rule only, for
/// tests and for installations whose receivers really are on the LAN.
public struct WebhookURLPolicy: Sendable {
    public var allowPrivateTargets: Bool

    public init(allowPrivateTargets: Bool = false) {
        self.allowPrivateTargets = allowPrivateTargets
    }

    public static let maxURLLength = 2048

    /// A URL the policy accepted (before name resolution).
    public struct Target: Sendable, Equatable {
        public var scheme: String
        public var host: String
        public var port: Int
        /// The host is an address literal (nothing to resolve).
        public var address: IPAddress?

        public init(scheme: String, host: String, port: Int, address: IPAddress?) {
            self.scheme = scheme
            self.host = host
            self.port = port
            self.address = address
        }
    }

    /// Why a URL is refused; `reason` goes to the caller as is (it names no secret).
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var reason: String
        public init(_ reason: String) { self.reason = reason }
        public var description: String { reason }
    }

    /// Checks the URL's form and, for an address literal, the address.
    public func check(_ url: String) -> Result<Target, Refusal> {
        guard !url.isEmpty, url.utf8.count <= Self.maxURLLength else { return .failure(.init("url must be 1-\(Self.maxURLLength) bytes")) }
        guard url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            return .failure(.init("url must be printable ASCII without spaces"))
        }
        guard let components = URLComponents(string: url), let rawScheme = components.scheme else {
            return .failure(.init("url is not an absolute URL"))
        }
        let scheme = rawScheme.lowercased()
        guard scheme == "http" || scheme == "https" else { return .failure(.init("only http and https URLs are allowed")) }
        guard components.user == nil && components.password == nil else { return .failure(.init("url must not carry credentials")) }
        guard components.fragment == nil else { return .failure(.init("url must not have a fragment")) }
        guard var host = components.host?.lowercased(), !host.isEmpty else { return .failure(.init("url has no host")) }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = components.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65_535).contains(port) else { return .failure(.init("url port must be 1-65535")) }
        let address = IPAddress(host)
        if address == nil {
            // A name: letters, digits, '-', '.' (IDNs in their xn-- form); resolved later.
            guard host.utf8.allSatisfy({ Self.isHostByte($0) }), !host.hasPrefix("."), !host.contains("..") else {
                return .failure(.init("url host is not a valid name"))
            }
        }
        let target = Target(scheme: scheme, host: host, port: port, address: address)
        if let address, let refusal = check(address: address) { return .failure(refusal) }
        return .success(target)
    }

    /// Refuses every resolved address that is not public (all must pass: a name with one
    /// private address is refused), and a name that resolved to nothing.
    public func check(resolved addresses: [IPAddress]) -> Refusal? {
        guard !addresses.isEmpty else { return Refusal("url host does not resolve") }
        for address in addresses { if let refusal = check(address: address) { return refusal } }
        return nil
    }

    /// Nil when `address` may be posted to.
    public func check(address: IPAddress) -> Refusal? {
        guard !allowPrivateTargets, let kind = Self.nonPublicKind(address) else { return nil }
        return Refusal("url targets a \(kind) address (\(kind) targets are refused)")
    }

    /// What makes an address non-public, or nil for a public one.
    public static func nonPublicKind(_ address: IPAddress) -> String? {
        for (block, kind) in blocks where block.contains(address) { return kind }
        return nil
    }

    /// Address blocks that are not the public Internet (IANA special-purpose registries).
    /// IPv4 addresses are matched in their IPv4-mapped form, so `::ffff:127.0.0.1` is loopback too;
    /// NAT64 and 6to4 prefixes, which embed an IPv4 address, are refused whole.
    static let blocks: [(CIDRBlock, String)] = [
        ("0.0.0.0/8", "unspecified"), ("127.0.0.0/8", "loopback"), ("10.0.0.0/8", "private"), ("172.16.0.0/12", "private"),
        ("192.168.0.0/16", "private"), ("100.64.0.0/10", "private"), ("169.254.0.0/16", "link-local"),
        ("192.0.0.0/24", "reserved"), ("192.0.2.0/24", "reserved"), ("198.18.0.0/15", "reserved"), ("198.51.100.0/24", "reserved"),
        ("203.0.113.0/24", "reserved"), ("224.0.0.0/4", "multicast"), ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"), ("::1/128", "loopback"), ("::/96", "reserved"), ("fc00::/7", "private"), ("fe80::/10", "link-local"),
        ("fec0::/10", "private"), ("ff00::/8", "multicast"), ("2001:db8::/32", "reserved"), ("64:ff9b::/96", "reserved"),
        ("64:ff9b:1::/48", "reserved"), ("2002::/16", "reserved"), ("100::/64", "reserved"),
    ].map { (CIDRBlock($0.0)!, $0.1) }

    private static func isHostByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x2E
    }
}
