/// One entry of an inbound partition stream: a client action accepted by a gateway, or a routing
/// decision that must be applied in the conversation's order.
///
/// Field names are short because every chat message carries them; docs/redis-keys.md lists them.
public struct InboundEntry: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A chat message from a participant.
        case message = "msg"
        /// A conversation close requested by a participant.
        case close
        /// A queued conversation was assigned by a queue drain; the owner announces it.
        case assigned
        /// The assigned agent (or a supervisor) hands the conversation to an agent or a skill.
        case transfer
        /// A participant read up to `seq`.
        case read
        /// The agent did not come back within the grace period; the conversation went back to its queue.
        case requeued
        /// A customer rated (or re-rated) a closed conversation.
        case rate
    }

    public var kind: Kind
    /// The acting user (empty for `assigned`).
    public var userID: String
    public var role: ParticipantRole
    public var userName: String
    /// Client message id (dedup key).
    public var clientMessageID: String
    /// Conversation id; empty when a customer writes without naming one.
    public var conversationID: String
    public var body: String
    public var skill: String
    /// Gateway and connection that accepted it, for replies meant for that connection only.
    public var gatewayID: String
    public var connectionID: String
    /// Agent chosen by a queue drain (`assigned`), or the agent who lost it (`requeued`).
    public var agentID: String
    /// Transfer target: an agent id or a skill (`transfer` only), and the optional note.
    public var targetAgent: String = ""
    public var targetSkill: String = ""
    public var note: String = ""
    /// Read position (`read` only).
    public var seq: Int = 0
    /// Contact e-mail left with an offline message.
    public var email: String = ""
    /// Rating score 1-5 and optional comment (`rate` only).
    public var score: Int = 0
    public var comment: String = ""
    /// The file a message carries (`message` only), as the gateway read it from its upload.
    public var attachment: AttachmentReference?

    public init(
        kind: Kind, userID: String = "", role: ParticipantRole = .customer, userName: String = "",
        clientMessageID: String = "", conversationID: String = "", body: String = "", skill: String = "",
        gatewayID: String = "", connectionID: String = "", agentID: String = ""
    ) {
        self.kind = kind
        self.userID = userID
        self.role = role
        self.userName = userName
        self.clientMessageID = clientMessageID
        self.conversationID = conversationID
        self.body = body
        self.skill = skill
        self.gatewayID = gatewayID
        self.connectionID = connectionID
        self.agentID = agentID
    }

    /// Field/value pairs for XADD, omitting empty values.
    public var fields: [(String, String)] {
        var result: [(String, String)] = [("k", kind.rawValue)]
        func add(_ name: String, _ value: String) { if !value.isEmpty { result.append((name, value)) } }
        add("u", userID)
        if !userID.isEmpty { result.append(("r", role.rawValue)) }
        add("n", userName)
        add("cid", clientMessageID)
        add("c", conversationID)
        add("b", body)
        add("s", skill)
        add("g", gatewayID)
        add("cn", connectionID)
        add("a", agentID)
        add("ta", targetAgent)
        add("tk", targetSkill)
        add("nt", note)
        if seq > 0 { result.append(("sq", String(seq))) }
        add("em", email)
        if score > 0 { result.append(("sc", String(score))) }
        add("cm", comment)
        if let attachment {
            result += [("fi", attachment.id), ("fn", attachment.name), ("ft", attachment.type.mimeType), ("fz", String(attachment.size))]
        }
        return result
    }

    /// Decodes the field map of a stream entry; nil when the kind is unknown or required fields lack.
    public init?(fields: [String: String]) {
        guard let kindValue = fields["k"], let kind = Kind(rawValue: kindValue) else { return nil }
        var role = ParticipantRole.customer
        if let roleValue = fields["r"] {
            guard let parsed = ParticipantRole(rawValue: roleValue) else { return nil }
            role = parsed
        }
        self.init(
            kind: kind, userID: fields["u"] ?? "", role: role, userName: fields["n"] ?? "",
            clientMessageID: fields["cid"] ?? "", conversationID: fields["c"] ?? "", body: fields["b"] ?? "",
            skill: fields["s"] ?? "", gatewayID: fields["g"] ?? "", connectionID: fields["cn"] ?? "",
            agentID: fields["a"] ?? ""
        )
        targetAgent = fields["ta"] ?? ""
        targetSkill = fields["tk"] ?? ""
        note = fields["nt"] ?? ""
        seq = fields["sq"].flatMap(Int.init) ?? 0
        email = fields["em"] ?? ""
        score = fields["sc"].flatMap(Int.init) ?? 0
        comment = fields["cm"] ?? ""
        if let id = fields["fi"] {
            guard let name = fields["fn"], let type = fields["ft"].flatMap(AttachmentType.init(rawValue:)),
                let size = fields["fz"].flatMap(Int.init)
            else { return nil }
            attachment = AttachmentReference(id: id, name: name, type: type, size: size)
        }
        switch kind {
        case .message: if userID.isEmpty || clientMessageID.isEmpty || (body.isEmpty && attachment == nil) { return nil }
        case .close: if userID.isEmpty { return nil }
        case .assigned, .requeued: if conversationID.isEmpty || agentID.isEmpty { return nil }
        case .transfer: if userID.isEmpty || conversationID.isEmpty || targetAgent.isEmpty == targetSkill.isEmpty { return nil }
        case .read: if userID.isEmpty || conversationID.isEmpty || seq <= 0 { return nil }
        case .rate: if userID.isEmpty || conversationID.isEmpty || clientMessageID.isEmpty || !(1...5).contains(score) { return nil }
        }
    }
}
