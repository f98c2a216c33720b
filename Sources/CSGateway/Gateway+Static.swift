import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The web pages (customer widget, agent console, supervisor dashboard): plain files from a
/// folder, read once at start (they are small) and served from memory, so no request touches the
/// disk. `/`, `/agent` and `/admin` are the pages; every other file keeps its path.
struct StaticSite: Sendable {
    struct File: Sendable {
        let body: ByteBuffer
        let contentType: String
        let etag: String
        let isPage: Bool
    }

    let files: [String: File]

    /// Pages get these paths; their `.html` files are served there and under their own name.
    static let pageAliases = ["/": "/index.html", "/agent": "/agent.html", "/admin": "/admin.html"]

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon", "json": "application/json", "txt": "text/plain; charset=utf-8",
    ]

    /// The folder bundled with the executable by SwiftPM (`resources: [.copy("Public")]`).
    static func bundledDirectory() -> String? {
        let executable = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).resolvingSymlinksInPath()
        for base in [executable.deletingLastPathComponent(), Bundle.main.bundleURL] {
            let candidate = base.appendingPathComponent("customer-service_CSGateway.resources/Public")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue {
                return candidate.path
            }
        }
        return nil
    }

    /// Every file with a known type under `directory`, keyed by URL path (`/js/agent/main.js`).
    static func load(directory: String) -> StaticSite {
        let root = URL(fileURLWithPath: directory).standardizedFileURL.resolvingSymlinksInPath()
        var files: [String: File] = [:]
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                let contentType = contentTypes[url.pathExtension.lowercased()], let data = try? Data(contentsOf: url)
            else { continue }
            let relative = url.resolvingSymlinksInPath().path.dropFirst(root.path.count)
            guard relative.hasPrefix("/"), !relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) else { continue }
            // FNV-1a of the content (with its length): an ETag only has to change when the file does.
            let digest = String(data.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }, radix: 16)
                + "-" + String(data.count, radix: 16)
            files[String(relative)] = File(
                body: ByteBuffer(bytes: data), contentType: contentType, etag: "\"\(digest)\"", isPage: url.pathExtension.lowercased() == "html")
        }
        return StaticSite(files: files)
    }

    /// Pages may run only our own scripts and styles, and talk only to this gateway.
    static func contentSecurityPolicy(host: String?) -> String {
        var connect = "'self'"
        if let host, !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:[]".contains($0) }) {
            connect += " ws://\(host) wss://\(host)"
        }
        return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src \(connect); "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    }

    func response(_ file: File, to request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: file.contentType, .eTag: file.etag,
            // No file names carry a version, so browsers check every time (a 304 is cheap).
            .cacheControl: "no-cache", .xContentTypeOptions: "nosniff",
        ]
        if file.isPage {
            headers[.contentSecurityPolicy] = Self.contentSecurityPolicy(host: request.head.authority)
            headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        } else {
            // The widget is embedded in other sites' pages and loads its modules from here.
            headers[.accessControlAllowOrigin] = "*"
        }
        if let presented = request.headers[.ifNoneMatch], presented.split(separator: ",").contains(where: {
            $0.trimmingCharacters(in: .whitespaces) == file.etag
        }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(file.body.readableBytes)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: file.body))
    }
}

extension GatewayContext {
    /// `GET /`, `/agent`, `/admin` and the files they load (`--static-dir`, default: bundled).
    func addStaticRoutes(to router: Router<GatewayRequestContext>) {
        guard let directory = configuration.staticDirectory ?? StaticSite.bundledDirectory() else {
            logger.warning("web pages not found next to the executable; pass --static-dir to serve them")
            return
        }
        let site = StaticSite.load(directory: directory)
        if site.files.isEmpty { logger.warning("no web pages found", metadata: ["dir": "\(directory)"]) }
        var routes = site.files.map { ($0.key, $0.value) }
        for (alias, target) in StaticSite.pageAliases { if let file = site.files[target] { routes.append((alias, file)) } }
        for (path, file) in routes {
            router.get(RouterPath(path)) { request, _ in site.response(file, to: request) }
            router.head(RouterPath(path)) { request, _ in
                let response = site.response(file, to: request)
                return Response(status: response.status, headers: response.headers)
            }
        }
        logger.debug("serving web pages", metadata: ["dir": "\(directory)", "files": "\(site.files.count)"])
    }
}
