/// Refuses the secrets shipped as examples: the JWT secret, admin key and Redis passwords of
/// `deploy/.env.example` (whose SHA-256 hashes `deploy/redis/users.acl` holds), and any value
/// containing `change-me` (any case), the marker every shipped example carries.
///
/// Those values are public: a system running on them accepts tokens anybody can forge offline and
/// Redis logins anybody can make. Every process checks its secrets before it starts
/// (docs/operations.md, "Secrets").
public enum ExampleSecrets {
    /// The example values shipped in `deploy/.env.example`.
    public static let shipped: Set<String> = [
        "example-jwt-secret-change-me-0123456789abcdef",
        "example-admin-key-change-me-0123456789abcdef",
        "example-gateway-password-change-me",
        "example-dispatcher-password-change-me",
        "example-notifier-password-change-me",
        "example-webhooks-password-change-me",
        "example-archiver-password-change-me",
        "example-admin-password-change-me",
        "example-pg-owner-password-change-me",
        "example-pg-archiver-password-change-me",
    ]

    /// Why `value` may not be used as the secret `name`, or nil when it may.
    public static func problem(_ value: String, name: String) -> String? {
        if shipped.contains(value) || value.lowercased().contains("change-me") {
            return "\(name) is an example value (it contains change-me or comes from deploy/.env.example): "
                + "generate your own, e.g. openssl rand -hex 32"
        }
        return nil
    }
}
