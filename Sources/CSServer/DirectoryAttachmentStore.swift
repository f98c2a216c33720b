import CSCore
import Foundation
import NIOCore
import _NIOFileSystem

/// ``AttachmentStore`` on a directory (a shared volume when there are several gateways): the bytes
/// in `<dir>/<id>`, the record beside them in `<dir>/<id>.json`. Both are written with
/// swift-nio's transactional creation (a hidden temporary file, linked in under its name only when
/// complete), bytes first, so a record always names complete bytes and a crash mid-upload leaves
/// no visible file. File names are ids (`AttachmentID`: letters and digits after `f_`), never
/// anything a client sent.
public struct DirectoryAttachmentStore: AttachmentStore {
    public let directory: String
    private let fileSystem = FileSystem.shared
    /// Chunks read from disk when serving a download.
    static let readChunk = 64 * 1024

    /// A store in `directory`, created (with parents) when missing.
    public init(directory: String) async throws {
        self.directory = directory
        try await fileSystem.createDirectory(at: FilePath(directory), withIntermediateDirectories: true)
    }

    private func dataPath(_ id: String) throws -> FilePath {
        guard AttachmentID.isValid(id) else { throw InvalidAttachmentID() }
        return FilePath(directory).appending(id)
    }

    private func recordPath(_ id: String) throws -> FilePath {
        guard AttachmentID.isValid(id) else { throw InvalidAttachmentID() }
        return FilePath(directory).appending(id + ".json")
    }

    public func put<Chunks: AsyncSequence>(_ record: AttachmentRecord, chunks: Chunks) async throws -> AttachmentRecord
    where Chunks.Element == ByteBuffer {
        let path = try dataPath(record.reference.id)
        let size = try await fileSystem.withFileHandle(forWritingAt: path, options: .newFile(replaceExisting: false)) { handle in
            var offset: Int64 = 0
            for try await chunk in chunks {
                offset += try await Int64(handle.write(contentsOf: chunk.readableBytesView, toAbsoluteOffset: offset))
            }
            return Int(offset)
        }
        var stored = record
        stored.reference.size = size
        do {
            try await writeRecord(stored, replacing: false)
        } catch {
            try? await fileSystem.removeItem(at: path)
            throw error
        }
        return stored
    }

    private func writeRecord(_ record: AttachmentRecord, replacing: Bool) async throws {
        let bytes = try Self.encoder.encode(record)
        let path = try recordPath(record.reference.id)
        try await fileSystem.withFileHandle(forWritingAt: path, options: .newFile(replaceExisting: replacing)) { handle in
            _ = try await handle.write(contentsOf: bytes, toAbsoluteOffset: 0)
        }
    }

    public func record(_ id: String) async throws -> AttachmentRecord? {
        guard AttachmentID.isValid(id) else { return nil }
        let bytes: ByteBuffer
        do {
            bytes = try await fileSystem.withFileHandle(forReadingAt: try recordPath(id)) { try await $0.readToEnd(maximumSizeAllowed: .kibibytes(64)) }
        } catch let error as FileSystemError where error.code == .notFound {
            return nil
        }
        return try Self.decoder.decode(AttachmentRecord.self, from: Data(bytes.readableBytesView))
    }

    public func read(_ id: String, _ body: (ByteBuffer) async throws -> Void) async throws -> Bool {
        guard AttachmentID.isValid(id) else { return false }
        do {
            try await fileSystem.withFileHandle(forReadingAt: try dataPath(id)) { handle in
                for try await chunk in handle.readChunks(chunkLength: .bytes(Int64(Self.readChunk))) {
                    try await body(chunk)
                }
            }
            return true
        } catch let error as FileSystemError where error.code == .notFound {
            return false
        }
    }

    public func markSent(_ id: String, at date: Date) async throws {
        guard var record = try await record(id) else { return }
        guard record.sentAt == nil else { return }
        record.sentAt = date
        try await writeRecord(record, replacing: true)
    }

    public func delete(_ id: String) async throws {
        // The record first: without it the upload is gone for readers at once.
        try await fileSystem.removeItem(at: try recordPath(id))
        try await fileSystem.removeItem(at: try dataPath(id))
    }

    public func expired(before cutoff: Date) async throws -> [String] {
        var names: [String] = []
        try await fileSystem.withDirectoryHandle(atPath: FilePath(directory)) { directory in
            for try await entry in directory.listContents() { names.append(entry.name.string) }
        }
        var expired: [String] = []
        let recorded = Set(names.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
        for id in recorded where AttachmentID.isValid(id) {
            guard let record = try? await record(id) else { continue }
            if record.sentAt == nil && record.createdAt < cutoff { expired.append(id) }
        }
        // Bytes without a record: a crash between the two writes. Old enough: not an upload in progress.
        for id in names where AttachmentID.isValid(id) && !recorded.contains(id) {
            if let info = try await fileSystem.info(forFileAt: try dataPath(id)),
                Date(timeIntervalSince1970: TimeInterval(info.lastDataModificationTime.seconds)) < cutoff
            {
                expired.append(id)
            }
        }
        return expired.sorted()
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }()
}

/// An id that is not an attachment id reached a store (callers check `AttachmentID.isValid`).
public struct InvalidAttachmentID: Error, CustomStringConvertible {
    public var description: String { "not an attachment id" }
}
