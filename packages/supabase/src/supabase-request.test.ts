import { describe, expect, it } from 'vitest';
import { describeRequest, headerValue, isDownload, projectLocation, serviceOf } from './supabase-request.js';

const project = projectLocation('https://abc.supabase.co');

function describe_(url: string, method = 'GET', headers: Record<string, string> = {}) {
  const service = serviceOf(project, url);
  const attributes = {};
  return { request: describeRequest(project, service, url, method, headers, attributes), attributes };
}

describe('naming requests', () => {
  it('PostgREST verbs, tables and functions', () => {
    const base = 'https://abc.supabase.co/rest/v1';
    expect(describe_(`${base}/agents?select=id&id=eq.a1`).request).toEqual({ service: 'rest', spanName: 'select agents', attempt: 0 });
    expect(describe_(`${base}/agents`, 'HEAD').request.spanName).toBe('select agents');
    expect(describe_(`${base}/agents`, 'POST').request.spanName).toBe('insert agents');
    expect(describe_(`${base}/agents?on_conflict=id`, 'POST', { Prefer: 'resolution=merge-duplicates,return=minimal' }).request.spanName).toBe('upsert agents');
    expect(describe_(`${base}/agents?id=eq.1`, 'PATCH').request.spanName).toBe('update agents');
    expect(describe_(`${base}/agents?id=eq.1`, 'DELETE').request.spanName).toBe('delete agents');
    expect(describe_(`${base}/my%20table`).request.spanName).toBe('select my table');
    const rpc = describe_(`${base}/rpc/score_agents`, 'POST', { 'Content-Profile': 'api' });
    expect(rpc.request.spanName).toBe('rpc score_agents');
    expect(rpc.attributes).toMatchObject({ 'db.operation.name': 'rpc', 'db.stored_procedure.name': 'score_agents', 'db.namespace': 'api' });
    expect(describe_(`${base}/agents`, 'GET', { 'X-Retry-Count': '2' })).toMatchObject({
      request: { attempt: 2 },
      attributes: { 'http.request.resend_count': 2 },
    });
  });

  it('auth, storage and realtime by their first path segment (later ones carry ids); functions by name', () => {
    expect(describe_('https://abc.supabase.co/auth/v1/token?grant_type=password', 'POST').request.spanName).toBe('auth token');
    expect(describe_('https://abc.supabase.co/auth/v1/admin/users/6f1c0f3e-uuid', 'DELETE').request.spanName).toBe('auth admin');
    expect(describe_('https://abc.supabase.co/storage/v1/object/avatars/u1/me.png').request.spanName).toBe('storage object');
    expect(describe_('https://abc.supabase.co/realtime/v1/api/broadcast', 'POST').request.spanName).toBe('realtime api');
    const fn = describe_('https://abc.supabase.co/functions/v1/hello-world?x=1', 'POST');
    expect(fn.request).toMatchObject({ service: 'functions', spanName: 'invoke hello-world' });
    expect(fn.attributes).toMatchObject({ 'faas.invoked_name': 'hello-world', 'server.address': 'abc.supabase.co', 'server.port': 443 });
  });

  it('anything else is "other", named by its method', () => {
    expect(describe_('https://elsewhere.example/rest/v1/agents').request).toMatchObject({ service: 'other', spanName: 'GET' });
    expect(describe_('https://abc.supabase.co/rest/v10/agents').request.service).toBe('other');
    expect(describe_('https://abc.supabase.co/graphql/v1', 'POST').request).toMatchObject({ service: 'other', spanName: 'POST' });
  });

  it('reads headers from Headers, pairs or records, case-insensitively', () => {
    expect(headerValue(new Headers({ 'X-Retry-Count': '1' }), 'x-retry-count')).toBe('1');
    expect(headerValue([['X-Retry-Count', '3']], 'x-retry-count')).toBe('3');
    expect(headerValue({ 'x-retry-count': '2' }, 'x-retry-count')).toBe('2');
    expect(headerValue({ Prefer: 'a' }, 'prefer')).toBe('a');
    expect(headerValue(undefined, 'prefer')).toBeNull();
  });
});

describe('storage downloads', () => {
  it('GETs of objects and renditions are downloads; listing, metadata, buckets and uploads are not', () => {
    const storage = 'https://abc.supabase.co/storage/v1';
    const downloads = [
      `${storage}/object/avatars/folder/a.png`,
      `${storage}/object/public/avatars/a.png`,
      `${storage}/object/authenticated/avatars/a.png?cacheNonce=1`,
      `${storage}/object/sign/avatars/a.png?token=t`,
      `${storage}/render/image/authenticated/avatars/a.png?width=10`,
    ];
    expect(downloads.map((url) => isDownload(project, url, 'GET'))).toEqual(downloads.map(() => true));
    expect(isDownload(project, `${storage}/object/avatars/a.png`, 'HEAD')).toBe(true);
    expect(isDownload(project, `${storage}/object/avatars/a.png`, 'POST')).toBe(false); // upload
    expect(isDownload(project, `${storage}/object/list/avatars`, 'POST')).toBe(false);
    expect(isDownload(project, `${storage}/object/info/avatars/a.png`, 'GET')).toBe(false);
    expect(isDownload(project, `${storage}/bucket`, 'GET')).toBe(false);
  });
});
