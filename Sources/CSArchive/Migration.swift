/// One versioned change of the archive's PostgreSQL schema. Versions only grow; a released
/// migration is never edited (add a new one instead): `cs_schema_migrations` records which ran,
/// so an edited one would never run where its old text already did.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    /// Run in order, in one transaction with the record of the version (PostgreSQL DDL is
    /// transactional, so a migration applies wholly or not at all). One statement each: the
    /// extended protocol runs one statement per query.
    public let statements: [String]

    /// Every migration, oldest first (`Migrations+0001.swift`, …).
    public static let all: [Migration] = [initialSchema]
}
