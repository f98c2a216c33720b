import ArgumentParser
import CSGateway
import CSServer

/// The gateway's attachment flags (docs/operations.md, "Attachments").
struct AttachmentOptions: ParsableArguments {
    @Option(name: .customLong("attachments-dir"), help: "Directory for uploaded attachments, shared by all gateways (env CS_ATTACHMENTS_DIR; unset: attachments off).")
    var directory: String? = environment("CS_ATTACHMENTS_DIR")

    @Option(name: .customLong("attachment-max-bytes"), help: "Largest upload in bytes; larger: 413 too_large (env CS_ATTACHMENT_MAX_BYTES).")
    var maxBytes: Int = environment("CS_ATTACHMENT_MAX_BYTES").flatMap(Int.init) ?? 10 << 20

    @Option(name: .customLong("attachment-orphan-seconds"), help: "Uploads never sent in a message are deleted after this many seconds (env CS_ATTACHMENT_ORPHAN_SECONDS).")
    var orphanSeconds: Int = environment("CS_ATTACHMENT_ORPHAN_SECONDS").flatMap(Int.init) ?? 3_600

    @Option(name: .customLong("attachment-link-seconds"), help: "Download links stay valid this many seconds (env CS_ATTACHMENT_LINK_SECONDS).")
    var linkSeconds: Int = environment("CS_ATTACHMENT_LINK_SECONDS").flatMap(Int.init) ?? 300

    @Option(name: .customLong("attachment-uploads-per-minute"), help: "Uploads per user per minute; over it: 429 rate_limited (env CS_ATTACHMENT_UPLOADS_PER_MINUTE; 0: no limit).")
    var uploadsPerMinute: Double = environment("CS_ATTACHMENT_UPLOADS_PER_MINUTE").flatMap(Double.init) ?? 30

    func validate() throws {
        guard maxBytes >= 1 else { throw ValidationError("--attachment-max-bytes must be at least 1") }
        guard orphanSeconds >= 1 else { throw ValidationError("--attachment-orphan-seconds must be at least 1") }
        guard (1...86_400).contains(linkSeconds) else { throw ValidationError("--attachment-link-seconds must be 1 to 86400") }
        guard uploadsPerMinute >= 0, uploadsPerMinute.isFinite else { throw ValidationError("--attachment-uploads-per-minute must be >= 0") }
    }

    func apply(to configuration: inout GatewayConfiguration) {
        configuration.attachmentsDirectory = directory
        configuration.attachmentMaxBytes = maxBytes
        configuration.attachmentOrphanLifetime = .seconds(orphanSeconds)
        configuration.attachmentLinkLifetime = .seconds(linkSeconds)
        configuration.attachmentUploadsPerMinute = uploadsPerMinute
    }
}
