import type { DIDDocument } from 'did-resolver';
import { describe, expect, it } from 'vitest';
import { endpointUrl, findServices } from './service-endpoint.js';

describe('service endpoints', () => {
  const document: DIDDocument = {
    id: 'did:web:agent.example',
    service: [
      { id: '#agent', type: ['AgentService', 'LinkedDomains'] as unknown as string, serviceEndpoint: { uri: 'https://agent.example/agent', accept: ['didcomm/v2'] } },
      { id: '#a2a', type: 'A2AService', serviceEndpoint: ['https://agent.example/a2a', 'https://backup.example/a2a'] },
      { id: '#a2a-2', type: 'A2AService', serviceEndpoint: 'https://agent.example/a2a-2' },
    ],
  };

  it('orders matches by the requested types, then by document order', () => {
    expect(findServices(document, ['A2AService', 'AgentService']).map((s) => s.id)).toEqual(['#a2a', '#a2a-2', '#agent']);
    expect(findServices(document, ['AgentService', 'A2AService']).map((s) => s.id)).toEqual(['#agent', '#a2a', '#a2a-2']);
    expect(findServices(document, ['DIDCommMessaging'])).toEqual([]);
    expect(findServices(null, ['A2AService'])).toEqual([]);
    expect(findServices({ id: 'x', service: 'nope' } as unknown as DIDDocument, ['A2AService'])).toEqual([]);
  });

  it('takes the first URL of string, list and map endpoints', () => {
    expect(endpointUrl('https://a.example')).toBe('https://a.example');
    expect(endpointUrl([{ accept: [] }, 'https://b.example'])).toBe('https://b.example');
    expect(endpointUrl({ uri: 'https://c.example' })).toBe('https://c.example');
    expect(endpointUrl({ url: 'https://d.example' })).toBe('https://d.example');
    expect(endpointUrl({ origins: ['https://e.example'] })).toBeUndefined();
    expect(endpointUrl(undefined)).toBeUndefined();
  });
});
