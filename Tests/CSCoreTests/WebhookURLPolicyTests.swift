import CSCore
import Testing

/// The webhook URL policy (docs/api.md "Webhooks"): what may and may not be a target.
@Suite("Webhook URL policy")
struct WebhookURLPolicyTests {
    static let strict = WebhookURLPolicy()
    static let lenient = WebhookURLPolicy(allowPrivateTargets: true)

    static func refused(_ url: String, by policy: WebhookURLPolicy = strict) -> String? {
        if case .failure(let refusal) = policy.check(url) { return refusal.reason }
        return nil
    }

    @Test func acceptsPublicHTTPAndHTTPS() throws {
        let target = try Self.strict.check("https://crm.example.com/hooks/cs?x=1").get()
        #expect(target == .init(scheme: "https", host: "crm.example.com", port: 443, address: nil))
        #expect(try Self.strict.check("HTTP://Example.COM:8080/").get().port == 8080)
        #expect(try Self.strict.check("http://93.184.216.34/x").get().address == IPAddress("93.184.216.34"))
        #expect(try Self.strict.check("http://[2606:2800:220:1:248:1893:25c8:1946]/").get().address != nil)
    }

    @Test(arguments: [
        "file:///etc/passwd", "ftp://example.com/", "gopher://example.com/", "javascript:alert(1)", "//example.com/x", "example.com",
        "https://user:pass@example.com/", "https://example.com/#frag", "http://exa mple.com/", "http:///x", "", "https://exa_mple.com/",
        "http://example.com:0/", "http://example.com:70000/", "http://ex\u{e4}mple.com/",
    ])
    func refusesBadForms(url: String) {
        #expect(Self.refused(url) != nil, "\(url) must be refused")
        #expect(Self.refused(url, by: Self.lenient) != nil, "\(url) must be refused even when private targets are allowed")
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080/", "loopback"), ("http://127.1.2.3/", "loopback"), ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"), ("http://10.1.2.3/", "private"), ("http://172.20.0.1/", "private"),
        ("http://192.168.1.1/", "private"), ("http://100.64.0.1/", "private"), ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fe80::1]/", "link-local"), ("http://[fd00::1]/", "private"), ("http://0.0.0.0/", "unspecified"), ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"), ("http://255.255.255.255/", "reserved"), ("http://[64:ff9b::7f00:1]/", "reserved"),
        ("http://[2002:7f00:1::]/", "reserved"),
    ])
    func refusesNonPublicAddressesUnlessAllowed(url: String, kind: String) {
        #expect(Self.refused(url)?.contains(kind) == true, "\(url): \(Self.refused(url) ?? "accepted")")
        #expect(Self.refused(url, by: Self.lenient) == nil, "\(url) is allowed with allowPrivateTargets")
    }

    @Test func resolvedAddressesMustAllBePublic() {
        let public1 = IPAddress("93.184.216.34")!, loopback = IPAddress("127.0.0.1")!, v6 = IPAddress("2606:4700::1111")!
        #expect(Self.strict.check(resolved: [public1, v6]) == nil)
        #expect(Self.strict.check(resolved: [public1, loopback]) != nil, "one private address refuses the name")
        #expect(Self.strict.check(resolved: []) != nil, "a name that resolves to nothing")
        #expect(Self.lenient.check(resolved: [loopback]) == nil)
    }
}
