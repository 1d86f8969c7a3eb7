export async function run() {
  return { status: 'not-available', reason: 'section not written yet', data: null };
}
