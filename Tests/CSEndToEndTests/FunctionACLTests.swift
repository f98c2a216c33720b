import CSDispatcher
import CSGateway
import CSNotifier
import CSRedis
import CSTestSupport
import CSWebhooks
import Foundation
import Testing

/// Each role's Redis ACL user may `FCALL` exactly the functions of the libraries its process
/// registers: one missing breaks the process under ACLs, one too many is a privilege it should
/// not hold (deploy/redis/users.acl.template; issue 21, item 10).
@Suite("Function ACLs match the code")
struct FunctionACLTests {
    /// The `+fcall|<name>` rules of each `user` entry of a rendered or template ACL text.
    static func fcallRules(_ text: String) -> [String: Set<String>] {
        var rules: [String: Set<String>] = [:]
        var user: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("user ") { user = line.split(separator: " ")[1].description }
            guard let user else { continue }
            for word in line.split(separator: " ") where word.hasPrefix("+fcall|") || word.hasPrefix("(+fcall|") {
                let name = word.split(separator: "|")[1].trimmingCharacters(in: CharacterSet(charactersIn: ")"))
                rules[user, default: []].insert(name)
            }
        }
        return rules
    }

    static func names(_ libraries: [RedisFunctionLibrary]) -> Set<String> {
        Set(libraries.flatMap { $0.functions.map(\.name) })
    }

    @Test func eachRoleMayCallExactlyItsFunctions() throws {
        let deploy = BuildProducts.packageRoot.appendingPathComponent("deploy/redis")
        for file in ["users.acl.template", "users.acl"] {
            let rules = Self.fcallRules(try String(contentsOf: deploy.appendingPathComponent(file), encoding: .utf8))
            #expect(rules["gateway"] == Self.names(GatewayFunctions.libraries), "\(file): gateway")
            #expect(rules["dispatcher"] == Self.names(DispatcherFunctions.libraries), "\(file): dispatcher")
            #expect(rules["notifier"] == Self.names(NotifierFunctions.libraries), "\(file): notifier")
            #expect(rules["webhooks"] == Self.names(WebhookFunctions.libraries), "\(file): webhooks")
            #expect(rules["admin"] == nil, "\(file): admin loads functions, it calls none")
        }
    }

    @Test func functionNamesAreUniqueAcrossLibraries() {
        var seen: [String: String] = [:]
        var libraries: [String: RedisFunctionLibrary] = [:]
        for library in GatewayFunctions.libraries + DispatcherFunctions.libraries + NotifierFunctions.libraries + WebhookFunctions.libraries {
            if let earlier = libraries[library.name] {
                #expect(earlier == library, "two libraries named \(library.name)")
                continue
            }
            libraries[library.name] = library
            for function in library.functions {
                #expect(seen.updateValue(library.name, forKey: function.name) == nil, "\(function.name) is in two libraries")
            }
        }
    }
}
