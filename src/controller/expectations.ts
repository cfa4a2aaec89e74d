// Batch jobs this process created or adopted, by resource UID, until the watch delivers a status that names
// them: a pass over a stale cached copy (its status not yet showing the create) then follows those jobs
// instead of creating again, as the expectations of Kubernetes' own Job controller do. After a restart the
// deterministic job IDs take their place.

export class Expectations {
  private readonly byUid = new Map<string, string[]>();

  /** The Batch jobs just submitted for `uid`, until the status names them. */
  expect(uid: string, names: string[]): void {
    this.byUid.set(uid, names);
  }

  get(uid: string): string[] {
    return this.byUid.get(uid) ?? [];
  }

  /** The status names the jobs (or the resource goes): nothing is expected any more. */
  observed(uid: string): void {
    this.byUid.delete(uid);
  }
}
