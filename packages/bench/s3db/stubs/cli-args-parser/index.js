export default {};
export const parse = () => ({});
